package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
)

// testKey is newSite's default token key.
var testKey = []byte("test-key-0123456789abcdef")

// mailedLinks are the links one person's mail carried.
type mailedLinks struct{ confirm, unsubscribe, preferences string }

// subscribeWithLinks subscribes and confirms email over HTTP and returns
// the links of the confirmation and welcome mails.
func (s *site) subscribeWithLinks(t *testing.T, email string) mailedLinks {
	t.Helper()
	n := len(s.mails.Mails())
	if resp, body := s.postForm(t, "/subscribe", url.Values{"email": {email}, "name": {"First Person"}}); resp.StatusCode != 200 {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}
	var l mailedLinks
	var err error
	if l.confirm, err = subscribetest.Link(s.mails.Wait(t, n+1).Text, "/subscribe/confirm"); err != nil {
		t.Fatal(err)
	}
	if resp, body := s.postForm(t, localPath(t, l.confirm), nil); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d %s", resp.StatusCode, body)
	}
	w := s.mails.Wait(t, n+2)
	l.unsubscribe = w.ListUnsubscribe
	if l.preferences, err = subscribetest.Link(w.Text, "/preferences"); err != nil {
		t.Fatal(err)
	}
	return l
}

// subscribePending subscribes email over HTTP without confirming: the
// victim a reused id would hand the old links to.
func (s *site) subscribePending(t *testing.T, email string) *subscribe.Subscriber {
	t.Helper()
	if resp, body := s.postForm(t, "/subscribe", url.Values{"email": {email}, "name": {"Second Person"}}); resp.StatusCode != 200 {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}
	sub, err := s.st.SubscriberByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// refuseLinks uses every link in links, GET and POST, and wants each
// refused (400) without showing or changing victim's record.
func (s *site) refuseLinks(t *testing.T, links []string, victim *subscribe.Subscriber) {
	t.Helper()
	for _, l := range links {
		p := localPath(t, l)
		resp, body := s.do(t, "GET", p, nil)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, victim.Email) {
			t.Errorf("GET %s: %d, shows the new person's address: %v", p, resp.StatusCode, strings.Contains(body, victim.Email))
		}
		for _, form := range []url.Values{{"List-Unsubscribe": {"One-Click"}}, {"scope": {"all"}},
			{"name": {"Hijacked"}, "newsletter": {"weekly"}, "action": {"save"}}} {
			if resp, _ := s.postForm(t, p, form); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("POST %s %v: %d", p, form, resp.StatusCode)
			}
		}
	}
	got, err := s.st.GetSubscriber(context.Background(), victim.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != victim.Status || !got.ConfirmedAt.Equal(victim.ConfirmedAt) || got.Name != victim.Name ||
		!slices.Equal(got.Newsletters, victim.Newsletters) || !got.UpdatedAt.Equal(victim.UpdatedAt) {
		t.Errorf("the new person's record changed: %+v, was %+v", got, victim)
	}
}

// planRun plans a manual digest of monthly to its active subscribers.
func planRun(t *testing.T, st *sqlite.Store, slot string, now time.Time) *digest.Run {
	t.Helper()
	run, err := st.PlanRun(context.Background(), digest.PlanRequest{
		Selection: digest.Selection{Newsletter: "monthly", SlotAt: now, FirstWindow: time.Hour, MaxArticles: 10},
		Slot:      slot, Kind: digest.KindManual, SendIfEmpty: true, Now: now,
	}, func(r *digest.Run, _ []article.Article) ([]digest.Variant, error) {
		return []digest.Variant{{Key: digest.VariantAll, Subject: "S", HTML: "<p>x</p>", Text: "x"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// TestLinksAfterErase: once a subscriber is erased, the links mailed to
// her are refused, and the next person to subscribe takes neither her id
// nor her links nor her digest deliveries.
func TestLinksAfterErase(t *testing.T) {
	ctx := context.Background()
	s := newSite(t, siteOpts{})
	first := s.subscribeWithLinks(t, "first@example.org")
	if run := planRun(t, s.st, "m1", s.clock.Now()); run.Recipients != 1 {
		t.Fatalf("run recipients %d", run.Recipients)
	}
	erased, _ := s.st.SubscriberByEmail(ctx, "first@example.org")
	if err := s.svc.Erase(ctx, "first@example.org"); err != nil {
		t.Fatal(err)
	}
	second := s.subscribePending(t, "second@example.org")
	if second.ID == erased.ID {
		t.Errorf("the new subscriber got the erased one's id %d", second.ID)
	}
	s.refuseLinks(t, []string{first.confirm, first.unsubscribe, first.preferences}, second)
	d, err := s.svc.ExportData(ctx, "second@example.org")
	if err != nil || len(d.Deliveries) != 0 {
		t.Fatalf("GDPR export of the new person: %+v %v", d, err)
	}
}

// TestLinksAfterRestore: links mailed after a backup was taken are
// refused once it is restored, and do not fit whoever subscribes next.
func TestLinksAfterRestore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	bak := filepath.Join(t.TempDir(), "backup.db")
	s := newSite(t, siteOpts{path: path})
	s.subscribeAndConfirm(t, "kept@example.org")
	if err := s.st.Backup(ctx, bak); err != nil {
		t.Fatal(err)
	}
	lost := s.subscribeWithLinks(t, "lost@example.org")
	lostSub, _ := s.st.SubscriberByEmail(ctx, "lost@example.org")
	s.srv.Close()
	s.st.Close()

	if err := sqlite.Restore(ctx, path, bak); err != nil {
		t.Fatal(err)
	}
	s = newSite(t, siteOpts{path: path})
	if _, err := s.st.SubscriberByEmail(ctx, "lost@example.org"); err == nil {
		t.Fatal("the restore kept a row made after the backup")
	}
	next := s.subscribePending(t, "next@example.org")
	if next.ID <= lostSub.ID {
		t.Errorf("the new subscriber got id %d; the replaced store had used up to %d", next.ID, lostSub.ID)
	}
	s.refuseLinks(t, []string{lost.confirm, lost.unsubscribe, lost.preferences}, next)
}

// oldStore writes a store as schema version 4 left it, with the
// subscribers ids[i] = emails[i] (statuses[i]) of monthly.
func oldStore(t *testing.T, path string, emails, statuses []string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files, _ := filepath.Glob("../store/sqlite/migrations/*.sql")
	db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`)
	for _, f := range files {
		name := filepath.Base(f)
		v, _ := strconv.Atoi(name[:3])
		if v > 4 {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, v, name)
	}
	for i, e := range emails {
		if _, err := db.Exec(`INSERT INTO subscribers (id, email, name, status, created_at, updated_at) VALUES (?, ?, 'Old', ?, 0, 0)`, i+1, e, statuses[i]); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO subscriptions (newsletter, subscriber_id, created_at) VALUES ('monthly', ?, 0), ('weekly', ?, 0)`, i+1, i+1); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOldFormatLinks: links mailed before bound links came in keep
// working for the subscribers of that time, and only for them.
func TestOldFormatLinks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	oldStore(t, path, []string{"one@example.org", "pending@example.org", "top@example.org"}, []string{"active", "pending", "active"})
	s := newSite(t, siteOpts{path: path})
	old := func(kind byte, id int64, exp time.Time, nl string) string {
		return s.srv.URL + map[byte]string{'c': "/subscribe/confirm", 'u': "/unsubscribe", 'p': "/preferences"}[kind] +
			"?token=" + subscribetest.OldFormatToken(testKey, kind, id, exp, nl)
	}

	t.Run("OK", func(t *testing.T) {
		resp, body := s.do(t, "GET", localPath(t, old('p', 1, time.Time{}, "")), nil)
		if resp.StatusCode != 200 || !strings.Contains(body, "one@example.org") {
			t.Fatalf("old preferences link: %d", resp.StatusCode)
		}
		if resp, _ := s.postForm(t, localPath(t, old('u', 1, time.Time{}, "monthly")), url.Values{"List-Unsubscribe": {"One-Click"}}); resp.StatusCode != 200 {
			t.Fatalf("old unsubscribe link: %d", resp.StatusCode)
		}
		if got, _ := s.st.GetSubscriber(ctx, 1); strings.Join(got.Newsletters, ",") != "weekly" {
			t.Fatalf("after the old unsubscribe link: %+v", got)
		}
		if resp, _ := s.postForm(t, localPath(t, old('c', 2, s.clock.Now().Add(time.Hour), "")), nil); resp.StatusCode != 200 {
			t.Fatalf("old confirm link: %d", resp.StatusCode)
		}
		if got, _ := s.st.GetSubscriber(ctx, 2); got.Status != subscribe.StatusActive {
			t.Fatalf("after the old confirm link: %+v", got)
		}
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		// The highest id is erased; the next person gets a new one, and
		// old-format links fit neither the erased id nor ids above the
		// high-water mark.
		if err := s.svc.Erase(ctx, "top@example.org"); err != nil {
			t.Fatal(err)
		}
		next := s.subscribePending(t, "next@example.org")
		if next.ID <= 3 {
			t.Fatalf("new subscriber id %d reuses an old one", next.ID)
		}
		var links []string
		for _, id := range []int64{3, next.ID} {
			links = append(links, old('c', id, s.clock.Now().Add(time.Hour), ""), old('u', id, time.Time{}, ""), old('p', id, time.Time{}, ""))
		}
		s.refuseLinks(t, links, next)
	})
}
