package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/internal/mail/mailtest"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/internal/web/admintest"
	"github.com/herald-news/herald/templates"
)

// nlFixture serves the admin UI with the real digest service over a
// SQLite store, delivering through the in-process SMTP server whose DATA
// replies wait at gate while it is closed.
type nlFixture struct {
	srv  *httptest.Server
	st   *sqlite.Store
	smtp *mailtest.Server
	svc  *digest.Service
	gate *gate
}

// audience counts as serve's does: the newsletter's active subscribers.
type audience struct{ st *sqlite.Store }

func (a audience) Recipients(ctx context.Context, newsletter string) (int, error) {
	subs, err := a.st.ListSubscribers(ctx, subscribe.Filter{Status: subscribe.StatusActive, Newsletter: newsletter})
	return len(subs), err
}

// Three articles of the monthly newsletter (max_articles 2): the newest
// is about ports, the next about gardening; the oldest waits.
var nlArticles = []struct{ slug, title, tag string }{
	{"harbour-workshop", "Harbour workshop opens", "ports"},
	{"allotment-season", "Allotment season begins", "gardening"},
	{"pier-repairs", "Pier repairs finished", "ports"},
}

// newNewsletterFixture: subscribers user1…userN@example.net, all active
// in monthly; user1 only wants gardening.
func newNewsletterFixture(t testing.TB, subscribers int) *nlFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &nlFixture{st: st, gate: newGate()}
	f.gate.open()
	now := time.Now()
	for i, a := range nlArticles {
		art := &article.Article{Slug: a.slug, Title: a.title, Published: now.Add(-time.Duration(i+1) * time.Hour),
			Source: article.SourceAPI, ContentHash: a.slug, Summary: "Summary of " + a.slug + ".", Tags: []article.Tag{{Name: strings.ToUpper(a.tag[:1]) + a.tag[1:], Slug: a.tag}}}
		if _, err := st.UpsertArticle(ctx, art, art.Published); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+st.Path()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= subscribers; i++ {
		if _, err := tx.Exec(`INSERT INTO subscribers (id, email, name, status, created_at, updated_at) VALUES (?, ?, ?, 'active', 0, 0)`,
			i, fmt.Sprintf("user%d@example.net", i), fmt.Sprintf("Reader %d", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO subscriptions (newsletter, subscriber_id, created_at) VALUES ('monthly', ?, 0)`, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(`INSERT INTO subscriber_tags (subscriber_id, tag_slug) VALUES (1, 'gardening')`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f.smtp = mailtest.NewServer(t, mailtest.Options{OnData: func(mailtest.Message) *mailtest.Reply { f.gate.wait(); return nil }})
	m, err := mail.NewSMTP(mail.SMTPConfig{Host: f.smtp.Host, Port: f.smtp.Port, TLS: "none", HELO: "herald.test",
		Timeout: 30 * time.Second, Connections: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	f.svc, err = digest.New(digest.Config{
		Newsletters: []digest.Newsletter{{ID: "monthly", Title: "Cluster Bridge Monthly", Schedule: "0 9 1 * *", Location: time.UTC,
			MaxArticles: 2, SendIfEmpty: true, FirstWindow: 30 * 24 * time.Hour, CatchUp: 72 * time.Hour, Subject: "{{.Newsletter.Title}} — {{.Period}}"}},
		Site:      digest.Site{Title: "Herald Test", BaseURL: "https://news.example.org", Language: "en", Address: "Somewhere 1"},
		Templates: templates.Embedded(),
		From:      &netmail.Address{Name: "Herald", Address: "news@example.org"},
		Store:     st, Mailer: m, Workers: 2, RetryBase: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.StartWorkers(context.Background(), 50*time.Millisecond)
	t.Cleanup(func() { f.gate.open(); f.svc.Close() })
	var h http.Handler
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(f.srv.Close)
	s, err := web.New(web.Config{Site: web.Site{Title: "Herald Test", BaseURL: f.srv.URL, Language: "en", Location: time.UTC},
		Store: st, Templates: templates.FS(""),
		Admin: &web.AdminConfig{Store: st, Digest: f.svc, Audience: audience{st}}})
	if err != nil {
		t.Fatal(err)
	}
	h = s
	return f
}

func (f *nlFixture) login(t testing.TB, role string) *http.Client {
	t.Helper()
	c, _ := admintest.Login(t, f.st, f.srv.URL, admintest.User{Role: role})
	return c
}

// waitRun waits until the run has status want.
func (f *nlFixture) waitRun(t testing.TB, id int64, want digest.RunStatus) *digest.RunInfo {
	t.Helper()
	var info *digest.RunInfo
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if info, err = f.svc.RunInfo(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if info.Status == want {
			return info
		}
	}
	t.Fatalf("run %d is %s (%+v), want %s", id, info.Status, info.Counts, want)
	return nil
}

// hold closes the gate: DATA replies wait until open.
func hold(g *gate) {
	g.mu.Lock()
	g.ch = make(chan struct{})
	g.mu.Unlock()
}

// runIDOf reads the run id from a redirect to /admin/runs/{id}.
func runIDOf(t testing.TB, resp *http.Response) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscanf(resp.Header.Get("Location"), "/admin/runs/%d", &id); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%d to %q, want 303 to a run", resp.StatusCode, resp.Header.Get("Location"))
	}
	return id
}

func lastAudit(t testing.TB, st *sqlite.Store) store.AuditEntry {
	t.Helper()
	es, err := st.Audit(context.Background(), 1)
	if err != nil || len(es) == 0 {
		t.Fatalf("audit log: %v %v", es, err)
	}
	return es[0]
}

// TestAdminNewsletterRoles: editors see, preview and test; send now and
// run control are for managers (403 for editors, on the confirmation
// pages too).
func TestAdminNewsletterRoles(t *testing.T) {
	f := newNewsletterFixture(t, 2)
	run, err := f.svc.SendTest(context.Background(), "monthly", "someone@example.org")
	if err != nil {
		t.Fatal(err)
	}
	rp := fmt.Sprintf("/admin/runs/%d", run.ID)
	editor, manager := f.login(t, store.RoleEditor), f.login(t, store.RoleManager)
	for _, tc := range []struct {
		method, path string
		editor       int
	}{
		{"GET", "/admin/newsletters", 200},
		{"GET", "/admin/newsletters/monthly", 200},
		{"GET", "/admin/newsletters/monthly/preview", 200},
		{"GET", rp, 200},
		{"GET", rp + "/progress", 200},
		{"GET", "/admin/newsletters/monthly/send", 403},
		{"POST", "/admin/newsletters/monthly/send", 403},
		{"GET", rp + "/pause", 403},
		{"POST", rp + "/pause", 403},
		{"POST", rp + "/resume", 403},
		{"POST", rp + "/cancel", 403},
		{"GET", "/admin/newsletters/weekly", 404},
		{"GET", "/admin/runs/999", 404},
		{"GET", "/admin/runs/x", 404},
	} {
		var form url.Values
		if tc.method == "POST" {
			form = url.Values{}
		}
		resp, body := do(t, editor, tc.method, f.srv.URL+tc.path, form)
		wantStatus(t, resp, body, tc.editor, "editor "+tc.method+" "+tc.path)
	}
	// A test run cannot be paused: the manager is told so on the run page.
	resp, body := do(t, manager, "GET", f.srv.URL+rp+"/pause", nil)
	wantStatus(t, resp, body, 200, "manager pause confirmation")
	resp, _ = do(t, manager, "POST", f.srv.URL+rp+"/pause", url.Values{})
	wantRedirect(t, resp, rp, "pause a test run")
	_, body = do(t, manager, "GET", f.srv.URL+rp, nil)
	if !strings.Contains(body, "cannot be paused") {
		t.Errorf("flash after refused pause missing:\n%s", body)
	}
}

// TestAdminNewsletterPage: settings, the next run, the next digest's
// articles and those waiting, previews by topic and by subscriber.
func TestAdminNewsletterPage(t *testing.T) {
	f := newNewsletterFixture(t, 3)
	c := f.login(t, store.RoleEditor)
	resp, body := do(t, c, "GET", f.srv.URL+"/admin/newsletters", nil)
	wantStatus(t, resp, body, 200, "list")
	if !strings.Contains(body, `href="/admin/newsletters/monthly"`) || !strings.Contains(body, "0 9 1 * *") {
		t.Errorf("list lacks the newsletter:\n%s", body)
	}
	resp, body = do(t, c, "GET", f.srv.URL+"/admin/newsletters/monthly", nil)
	wantStatus(t, resp, body, 200, "page")
	next := time.Date(time.Now().Year(), time.Now().Month(), 1, 9, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	for _, want := range []string{"3 active subscribers", "2 articles the next digest would carry", "Harbour workshop opens",
		"Allotment season begins", "1 older articles waiting", "Pier repairs finished", `datetime="` + next.Format(time.RFC3339) + `"`,
		"Subject: <strong class=\"preview-subject\">Cluster Bridge Monthly", `src="/admin/newsletters/monthly/preview?format=html"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "Send now") {
		t.Error("an editor is offered send now")
	}
	for _, tc := range []struct {
		name, query string
		want, not   []string
	}{
		{"Full", "", []string{"Harbour workshop opens", "Allotment season begins"}, []string{"Pier repairs finished"}},
		{"Topic", "?topic=gardening", []string{"Allotment season begins"}, []string{"Harbour workshop opens"}},
		{"Subscriber", "?as=user1@example.net", []string{"Allotment season begins", "Reader 1"}, []string{"Harbour workshop opens"}},
		{"NoMatch", "?topic=cooking", []string{"would get no message"}, []string{"preview-subject"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, c, "GET", f.srv.URL+"/admin/newsletters/monthly"+tc.query, nil)
			wantStatus(t, resp, body, 200, "page")
			text := body[strings.Index(body, `id="preview"`):]
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("preview lacks %q", w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(text, w) {
					t.Errorf("preview has %q", w)
				}
			}
		})
	}
	resp, body = do(t, c, "GET", f.srv.URL+"/admin/newsletters/monthly/preview?format=html&topic=gardening", nil)
	wantStatus(t, resp, body, 200, "html preview")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "frame-ancestors 'self'") {
		t.Errorf("preview CSP %q", csp)
	}
	if !strings.Contains(body, "Allotment season begins") || strings.Contains(body, "Harbour workshop opens") {
		t.Errorf("gardening preview shows the wrong articles")
	}
	resp, body = do(t, c, "GET", f.srv.URL+"/admin/newsletters/monthly/preview?format=pdf", nil)
	wantStatus(t, resp, body, 400, "bad format")
}

// TestAdminNewsletterTestSend: "send a test to me" reaches the signed-in
// user's address at the SMTP server, marked as a test, and is audited.
func TestAdminNewsletterTestSend(t *testing.T) {
	f := newNewsletterFixture(t, 2)
	c := f.login(t, store.RoleEditor)
	resp, _ := do(t, c, "POST", f.srv.URL+"/admin/newsletters/monthly/test", url.Values{})
	wantRedirect(t, resp, "/admin/newsletters/monthly", "test send")
	msgs := f.smtp.WaitMessages(1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "editor@example.org" {
		t.Fatalf("messages %+v", msgs)
	}
	if d := string(msgs[0].Data); !strings.Contains(d, "X-Herald-Test: yes") || !strings.Contains(d, "[Test]") {
		t.Errorf("test mail not marked as a test:\n%.600s", d)
	}
	if e := lastAudit(t, f.st); e.Action != "digest.test" || e.Email != "editor@example.org" || e.IP == "" {
		t.Errorf("audit %+v", e)
	}
	_, body := do(t, c, "GET", f.srv.URL+"/admin/newsletters/monthly", nil)
	if !strings.Contains(body, "A test of the next digest was sent to editor@example.org") {
		t.Error("no flash after the test send")
	}
}

// TestAdminRunSendPauseResume: send now states the recipients, plans a
// manual run; the run page pauses, resumes and pages its deliveries;
// every action is audited.
func TestAdminRunSendPauseResume(t *testing.T) {
	f := newNewsletterFixture(t, 60)
	c := f.login(t, store.RoleManager)
	resp, body := do(t, c, "GET", f.srv.URL+"/admin/newsletters/monthly/send", nil)
	wantStatus(t, resp, body, 200, "confirm")
	if !strings.Contains(body, "60 recipients") {
		t.Errorf("confirmation does not state 60 recipients:\n%s", body)
	}
	hold(f.gate) // the first messages wait
	resp, _ = do(t, c, "POST", f.srv.URL+"/admin/newsletters/monthly/send", url.Values{})
	id := runIDOf(t, resp)
	rp := fmt.Sprintf("%s/admin/runs/%d", f.srv.URL, id)
	if e := lastAudit(t, f.st); e.Action != "digest.send" || !strings.Contains(e.Detail, "60 recipients") {
		t.Errorf("audit %+v", e)
	}
	<-f.gate.seen
	resp, _ = do(t, c, "POST", rp+"/pause", url.Values{})
	wantRedirect(t, resp, fmt.Sprintf("/admin/runs/%d", id), "pause")
	f.gate.open()
	// The messages in hand (one a connection) finish, the claimed rest go
	// back to pending, and nothing new starts.
	info := f.waitRun(t, id, digest.RunPaused)
	for deadline := time.Now().Add(10 * time.Second); info.Counts.Sending > 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		info, _ = f.svc.RunInfo(context.Background(), id)
	}
	time.Sleep(200 * time.Millisecond)
	if info, _ = f.svc.RunInfo(context.Background(), id); info.Counts.Sending > 0 || info.Counts.Sent > 4 || info.Counts.Pending < 50 {
		t.Errorf("paused run went on: %+v", info.Counts)
	}
	resp, body = do(t, c, "GET", rp, nil)
	wantStatus(t, resp, body, 200, "paused run page")
	if !strings.Contains(body, `data-field="status" aria-live="polite">paused`) || !strings.Contains(body, `href="/admin/runs/`+fmt.Sprint(id)+`/resume"`) {
		t.Errorf("paused run page:\n%s", body)
	}
	var p struct {
		Status           string
		Recipients, Sent int
		Live             bool
	}
	_, body = do(t, c, "GET", rp+"/progress", nil)
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != "paused" || p.Recipients != 60 || p.Live {
		t.Errorf("progress %s (%v)", body, err)
	}
	resp, _ = do(t, c, "POST", rp+"/resume", url.Values{})
	wantRedirect(t, resp, fmt.Sprintf("/admin/runs/%d", id), "resume")
	if e := lastAudit(t, f.st); e.Action != "digest.resume" {
		t.Errorf("audit %+v", e)
	}
	info = f.waitRun(t, id, digest.RunDone)
	if info.Counts.Sent != 60 {
		t.Errorf("counts %+v", info.Counts)
	}
	// Deliveries: 50 a page, a cursor to the rest, filters by status and
	// address.
	_, body = do(t, c, "GET", rp, nil)
	if n := strings.Count(body, "@example.net</td><td>sent</td>"); n != 50 {
		t.Errorf("first page lists %d sent deliveries, want 50", n)
	}
	if !strings.Contains(body, "after=50#deliveries") {
		t.Error("no link to the next page")
	}
	_, body = do(t, c, "GET", rp+"?after=50", nil)
	if n := strings.Count(body, "@example.net</td>"); n != 10 || strings.Contains(body, `rel="next"`) {
		t.Errorf("second page lists %d, want 10 and no next page", n)
	}
	_, body = do(t, c, "GET", rp+"?q=USER42&status=sent", nil)
	if n := strings.Count(body, "@example.net</td>"); n != 1 || !strings.Contains(body, "user42@example.net") {
		t.Errorf("search USER42 lists %d", n)
	}
	_, body = do(t, c, "GET", rp+"?status=lost", nil)
	if !strings.Contains(body, `<a href="#status">Choose a delivery status`) {
		t.Error("no error summary for a bad status")
	}
}

// TestAdminRunCancel: cancel after its confirmation page settles the rest
// as skipped.
func TestAdminRunCancel(t *testing.T) {
	f := newNewsletterFixture(t, 20)
	c := f.login(t, store.RoleOwner)
	hold(f.gate)
	resp, _ := do(t, c, "POST", f.srv.URL+"/admin/newsletters/monthly/send", url.Values{})
	id := runIDOf(t, resp)
	<-f.gate.seen
	rp := fmt.Sprintf("%s/admin/runs/%d", f.srv.URL, id)
	resp, body := do(t, c, "GET", rp+"/cancel", nil)
	wantStatus(t, resp, body, 200, "cancel confirmation")
	if !strings.Contains(body, "cannot be undone") {
		t.Error("the confirmation does not warn")
	}
	resp, _ = do(t, c, "POST", rp+"/cancel", url.Values{})
	wantRedirect(t, resp, fmt.Sprintf("/admin/runs/%d", id), "cancel")
	f.gate.open()
	info := f.waitRun(t, id, digest.RunCancelled)
	if info.Counts.Skipped < 15 || lastAudit(t, f.st).Action != "digest.cancel" {
		t.Errorf("cancelled run %+v", info.Counts)
	}
}
