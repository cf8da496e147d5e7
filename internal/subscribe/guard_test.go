package subscribe_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/templates"
)

// guardService is a service on the SQLite file path (opened anew, as a
// second process would) with subscribe.domain_per_hour perHour.
func guardService(t *testing.T, path string, perHour int, c *clock, m subscribe.Mailer, st subscribe.Store) (*subscribe.Service, *sqlite.Store) {
	t.Helper()
	real, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	if st == nil {
		st = real
	}
	svc, err := subscribe.New(subscribe.Config{
		BaseURL: "https://news.example.org", SiteTitle: "Herald News",
		Newsletters: []subscribe.Newsletter{{ID: "monthly", Title: "Monthly", Default: true}, {ID: "weekly", Title: "Weekly", Tags: []string{"Cluster Training"}}},
		ConfirmTTL:  7 * 24 * time.Hour, ResendInterval: time.Hour, DomainPerHour: perHour, ConsentText: "I agree.", Welcome: true,
		Templates: templates.Embedded(), Tokens: subscribe.NewTokens([][]byte{[]byte("0123456789abcdef0123456789abcdef")}),
		Store: st, Mailer: m, Now: c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, real
}

func recipients(ms []*subscribe.Mail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.To)
	}
	return out
}

// TestConfirmGuards: the attacks of confirmation mail bombing. Each
// subtest failed before the guards keyed on the mailbox and the domain.
func TestConfirmGuards(t *testing.T) {
	ctx := context.Background()
	t.Run("OKMailboxVariants", func(t *testing.T) {
		c := &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		mails := subscribetest.NewMailer()
		svc, _ := guardService(t, filepath.Join(t.TempDir(), "h.db"), 0, c, mails, nil)
		variants := []string{"victim@gmail.com", "victim+1@gmail.com", "Victim+2@gmail.com", "v.i.c.t.i.m@googlemail.com"}
		for _, a := range variants {
			if err := svc.Subscribe(ctx, subscribe.Request{Email: a}); err != nil {
				t.Fatalf("%s: %v", a, err)
			}
			c.t = c.t.Add(time.Second)
		}
		if got := recipients(mails.Mails()); len(got) != 1 || got[0] != "victim@gmail.com" {
			t.Fatalf("mails within the interval: %q, want one to victim@gmail.com", got)
		}
		// Deferred, not dropped: one more per interval, in the order asked.
		for i := 1; i < len(variants); i++ {
			c.t = c.t.Add(30 * time.Minute)
			if n := svc.SendConfirmations(ctx, ""); n != 0 {
				t.Fatalf("half an interval later: %d sent", n)
			}
			c.t = c.t.Add(30 * time.Minute)
			if n := svc.SendConfirmations(ctx, ""); n != 1 {
				t.Fatalf("interval %d: %d sent, want 1", i, n)
			}
		}
		if got := recipients(mails.Mails()); !slices.Equal(got, []string{"victim@gmail.com", "victim+1@gmail.com", "Victim+2@gmail.com", "v.i.c.t.i.m@googlemail.com"}) {
			t.Fatalf("mails: %q", got)
		}
	})
	t.Run("OKDomainBudget", func(t *testing.T) {
		c := &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		mails := subscribetest.NewMailer()
		svc, st := guardService(t, filepath.Join(t.TempDir(), "h.db"), 3, c, mails, nil)
		for _, a := range []string{"a@corp.example", "b@corp.example", "c@corp.example", "d@corp.example", "e@corp.example", "f@other.example"} {
			if err := svc.Subscribe(ctx, subscribe.Request{Email: a}); err != nil {
				t.Fatal(err)
			}
			c.t = c.t.Add(time.Minute)
		}
		if got := recipients(mails.Mails()); !slices.Equal(got, []string{"a@corp.example", "b@corp.example", "c@corp.example", "f@other.example"}) {
			t.Fatalf("mails in the first hour: %q", got)
		}
		// The answer was the same, and the held-back addresses are recorded.
		if sub, err := st.SubscriberByEmail(ctx, "e@corp.example"); err != nil || sub.Status != subscribe.StatusPending {
			t.Fatalf("held back: %+v %v", sub, err)
		}
		c.t = c.t.Add(time.Hour)
		if n := svc.SendConfirmations(ctx, ""); n != 2 {
			t.Fatalf("an hour later: %d sent, want 2", n)
		}
	})
	t.Run("OKAcrossProcesses", func(t *testing.T) {
		c := &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		path := filepath.Join(t.TempDir(), "h.db")
		m1, m2 := subscribetest.NewMailer(), subscribetest.NewMailer()
		svc1, _ := guardService(t, path, 30, c, m1, nil)
		svc2, _ := guardService(t, path, 30, c, m2, nil)
		if err := svc1.Subscribe(ctx, subscribe.Request{Email: "victim@example.org"}); err != nil {
			t.Fatal(err)
		}
		if err := svc2.Subscribe(ctx, subscribe.Request{Email: "victim+x@example.org"}); err != nil {
			t.Fatal(err)
		}
		if n1, n2 := len(m1.Mails()), len(m2.Mails()); n1+n2 != 1 {
			t.Fatalf("mails from two processes: %d + %d, want 1", n1, n2)
		}
	})
	t.Run("ErrLongName", func(t *testing.T) {
		c := &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		mails := subscribetest.NewMailer()
		svc, _ := guardService(t, filepath.Join(t.TempDir(), "h.db"), 0, c, mails, nil)
		phish := "URGENT your account is locked, call +1 555 0100 or visit evil.example to restore access now"
		for _, name := range []string{phish, strings.Repeat("x", 65), "Anna\u202eBerg", "Anna\u200bBerg"} {
			if err := svc.Subscribe(ctx, subscribe.Request{Email: "a@example.org", Name: name}); !errors.Is(err, subscribe.ErrInvalidInput) {
				t.Errorf("name %q: %v, want ErrInvalidInput", name, err)
			}
		}
		if len(mails.Mails()) != 0 {
			t.Fatal("a refused request sent mail")
		}
		name := strings.Repeat("Å", 64)
		if err := svc.Subscribe(ctx, subscribe.Request{Email: "a@example.org", Name: name}); err != nil {
			t.Fatal(err)
		}
		m := mails.Wait(t, 1)
		if m.ToName != "" || strings.Contains(m.Text+m.HTML+m.Subject, "ÅÅÅ") {
			t.Fatalf("the name is in the confirmation mail: %q\n%s", m.ToName, m.Text)
		}
	})
}

// TestRepeatedRequestKeepsChoice: a repeated subscribe for a pending
// address (or one re-subscribing) may not change what the first one
// asked for until it is confirmed. Before, a request after
// resend_interval replaced name, newsletters and tags, and the victim's
// first link confirmed the attacker's choice.
func TestRepeatedRequestKeepsChoice(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, svc *subscribe.Service, st *sqlite.Store)
	}{
		{"OKPending", func(t *testing.T, svc *subscribe.Service, st *sqlite.Store) {}},
		{"OKResubscribing", func(t *testing.T, svc *subscribe.Service, st *sqlite.Store) {
			if _, _, err := svc.Add(ctx, "anna@example.org", "", nil, nil, true); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Remove(ctx, "anna@example.org"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			mails := subscribetest.NewMailer()
			svc, st := guardService(t, filepath.Join(t.TempDir(), "h.db"), 0, c, mails, nil)
			tc.setup(t, svc, st)
			if err := svc.Subscribe(ctx, subscribe.Request{Email: "anna@example.org", Name: "Anna", Newsletters: []string{"weekly"}}); err != nil {
				t.Fatal(err)
			}
			first := mails.Wait(t, 1)
			c.t = c.t.Add(2 * time.Hour)
			if err := svc.Subscribe(ctx, subscribe.Request{Email: "anna@example.org", Name: "Evil", Newsletters: []string{"monthly"},
				Tags: []string{"cluster-training"}}); err != nil {
				t.Fatal(err)
			}
			link, err := subscribetest.Link(first.Text, "/subscribe/confirm")
			if err != nil {
				t.Fatal(err)
			}
			sub, err := svc.Confirm(ctx, subscribetest.Token(link))
			if err != nil {
				t.Fatal(err)
			}
			if sub.Status != subscribe.StatusActive || sub.Name != "Anna" || strings.Join(sub.Newsletters, ",") != "weekly" || len(sub.Tags) != 0 {
				t.Fatalf("confirmed: %+v, want the first request's choice", sub)
			}
		})
	}
}

// recordingStore is the real store with every call of the interface
// subscribe owns written down; hold stops TakeConfirmations (the first
// call after the answer) until released.
type recordingStore struct {
	subscribe.Store
	mu    sync.Mutex
	calls []string
	hold  chan struct{}
}

func (r *recordingStore) rec(name string) {
	r.mu.Lock()
	r.calls = append(r.calls, name)
	r.mu.Unlock()
}

func (r *recordingStore) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

func (r *recordingStore) QueueSubscription(ctx context.Context, email string, c subscribe.Choice, now time.Time) error {
	r.rec("QueueSubscription")
	return r.Store.QueueSubscription(ctx, email, c, now)
}

func (r *recordingStore) TakeConfirmations(ctx context.Context, email string, lim subscribe.ConfirmLimits, now time.Time) ([]*subscribe.Subscriber, error) {
	<-r.hold
	r.rec("TakeConfirmations")
	return r.Store.TakeConfirmations(ctx, email, lim, now)
}

func (r *recordingStore) UnknownTags(ctx context.Context, tags []string) ([]string, error) {
	r.rec("UnknownTags")
	return r.Store.UnknownTags(ctx, tags)
}

func (r *recordingStore) SubscriberByEmail(ctx context.Context, email string) (*subscribe.Subscriber, error) {
	r.rec("SubscriberByEmail")
	return r.Store.SubscriberByEmail(ctx, email)
}

func (r *recordingStore) GetSubscriber(ctx context.Context, id int64) (*subscribe.Subscriber, error) {
	r.rec("GetSubscriber")
	return r.Store.GetSubscriber(ctx, id)
}

func (r *recordingStore) UpsertActive(ctx context.Context, email string, c subscribe.Choice, now time.Time) (*subscribe.Subscriber, bool, error) {
	r.rec("UpsertActive")
	return r.Store.UpsertActive(ctx, email, c, now)
}

// subscriberState sums up the subscriber tables of the SQLite file at
// path, read as another process would.
func subscriberState(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var state string
	err = db.QueryRow(`SELECT (SELECT COUNT(*) || '/' || COALESCE(SUM(updated_at), 0) || '/' || group_concat(name) FROM subscribers) || ' ' ||
		(SELECT COUNT(*) FROM subscriptions) || ' ' || (SELECT COUNT(*) FROM subscriber_tags)`).Scan(&state)
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// TestSameStoreOpsBeforeAnswer: POST /subscribe must do the same work
// before answering for a new, a pending and an active address, so its
// timing does not tell them apart: the same calls of the store interface,
// and none that records the address (that differs by state). Before, the
// answer waited for RequestSubscription, which inserted a new address
// (subscriber, subscriptions, tags) but only read a known one.
func TestSameStoreOpsBeforeAnswer(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	mails := subscribetest.NewMailer()
	// Known addresses: one pending, one active.
	path := filepath.Join(t.TempDir(), "h.db")
	setup, st := guardService(t, path, 30, c, subscribetest.NewMailer(), nil)
	rs := &recordingStore{Store: st, hold: make(chan struct{})}
	if err := setup.Subscribe(ctx, subscribe.Request{Email: "pending@example.org"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := setup.Add(ctx, "active@example.org", "", nil, nil, true); err != nil {
		t.Fatal(err)
	}
	svcAfter, err := subscribe.New(subscribe.Config{
		BaseURL: "https://news.example.org", SiteTitle: "Herald News",
		Newsletters: []subscribe.Newsletter{{ID: "monthly", Title: "Monthly", Default: true}, {ID: "weekly", Title: "Weekly", Tags: []string{"Cluster Training"}}},
		ConfirmTTL:  7 * 24 * time.Hour, ResendInterval: time.Hour, DomainPerHour: 30, ConsentText: "I agree.",
		Templates: templates.Embedded(), Tokens: subscribe.NewTokens([][]byte{[]byte("0123456789abcdef0123456789abcdef")}),
		Store: rs, Mailer: mails, Now: c.Now, MailAfterAnswer: true, // as serve runs it
	})
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]string{}
	for _, addr := range []string{"new@example.org", "pending@example.org", "active@example.org"} {
		for _, tags := range [][]string{nil, {"Cluster Training"}} {
			state := subscriberState(t, path)
			if err := svcAfter.Subscribe(ctx, subscribe.Request{Email: addr, Name: "N", Tags: tags, Newsletters: []string{"weekly"}}); err != nil {
				t.Fatal(err)
			}
			key := strings.Join(tags, ",")
			got := rs.take() // everything done before the answer
			if now := subscriberState(t, path); now != state {
				t.Errorf("%s: the subscriber tables changed before the answer: %s → %s", addr, state, now)
			}
			if want, ok := before[key]; ok && !slices.Equal(got, want) {
				t.Errorf("%s, tags %q: store calls before the answer %q, want %q as for new@", addr, key, got, want)
			}
			if addr == "new@example.org" {
				before[key] = got
				if len(got) == 0 {
					t.Fatalf("no store call recorded before the answer for %s", addr)
				}
			}
			rs.hold <- struct{}{} // now let the work after the answer run
			svcAfter.Wait()
			rs.take()
		}
	}
	if got := recipients(mails.Mails()); !slices.Equal(got, []string{"new@example.org"}) {
		t.Errorf("mails after the answers: %q (pending@ was mailed within the interval, active@ needs none)", got)
	}
}

// TestUnknownTags: a tag no article and no newsletter has would make
// every digest to the subscriber a skip; it is refused wherever tags come
// in. Before, any tag was accepted.
func TestUnknownTags(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	mails := subscribetest.NewMailer()
	svc, st := guardService(t, filepath.Join(t.TempDir(), "h.db"), 0, c, mails, nil)
	draft := &article.Article{Slug: "draft", Title: "A draft", BodyHTML: "<p>x</p>", Published: c.t, Draft: true, Source: article.SourceAPI,
		Tags: []article.Tag{{Name: "WP 4", Slug: "wp-4"}}}
	if _, err := st.UpsertArticle(ctx, draft, c.t); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tags []string
		ok   bool
	}{
		{"OKArticleTagOfADraft", []string{"WP 4"}, true},
		{"OKNewsletterTag", []string{"cluster training"}, true},
		{"ErrUnknownTag", []string{"wp-4", "nosuchtopic"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := svc.Subscribe(ctx, subscribe.Request{Email: strings.ToLower(tc.name) + "@example.org", Tags: tc.tags})
			if tc.ok != (err == nil) || !tc.ok && (!errors.Is(err, subscribe.ErrUnknownTag) || !strings.Contains(err.Error(), `"nosuchtopic"`)) {
				t.Fatalf("tags %q: %v", tc.tags, err)
			}
			_, _, err = svc.Add(ctx, "add-"+strings.ToLower(tc.name)+"@example.org", "", nil, tc.tags, true)
			if tc.ok != (err == nil) {
				t.Fatalf("Add with tags %q: %v", tc.tags, err)
			}
		})
	}
	t.Run("ErrUnknownTagCSVRow", func(t *testing.T) {
		in := "email,tags\nok@example.org,wp-4\nbad@example.org,wp-4;ghost\nok2@example.org,cluster-training\n"
		rep, err := svc.Import(ctx, strings.NewReader(in), subscribe.ImportOptions{Confirmed: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Added != 2 || len(rep.Errors) != 1 || rep.Errors[0].Line != 3 || !strings.Contains(rep.Errors[0].Msg, `unknown topic tag "ghost"`) {
			t.Fatalf("report %+v %v", rep, rep.Errors)
		}
		if _, err := st.SubscriberByEmail(ctx, "bad@example.org"); err == nil {
			t.Fatal("the row with an unknown tag was imported")
		}
	})
}
