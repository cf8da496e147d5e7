package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/internal/mail/mailtest"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"

	_ "modernc.org/sqlite"
)

// gate holds the SMTP server's DATA replies while closed.
type gate struct {
	mu   sync.Mutex
	ch   chan struct{}
	seen chan struct{} // a message is waiting at the gate
}

func newGate() *gate { return &gate{ch: make(chan struct{}), seen: make(chan struct{}, 100)} }

func (g *gate) wait() {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	select {
	case g.seen <- struct{}{}:
	default:
	}
	<-ch
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.ch:
	default:
		close(g.ch)
	}
}

type digestFixture struct {
	*apiFixture
	smtp *mailtest.Server
	svc  *digest.Service
	gate *gate
}

// newDigestAPIFixture serves the API with the real digest service over the
// fixture's SQLite store, delivering through the SMTP test server with
// its workers running (as serve does): 5 active subscribers of monthly
// (subscriber 5 only wants the "gardening" topic), 2 articles.
func newDigestAPIFixture(t *testing.T) *digestFixture {
	t.Helper()
	g := newGate()
	g.open()
	srv := mailtest.NewServer(t, mailtest.Options{
		OnRcpt: func(from, to string) *mailtest.Reply {
			if to == "refused@example.net" {
				return &mailtest.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
			}
			return nil
		},
		OnData: func(mailtest.Message) *mailtest.Reply { g.wait(); return nil },
	})
	df := &digestFixture{smtp: srv, gate: g}
	df.apiFixture = newAPIFixtureWired(t, func(st *sqlite.Store, c *web.APIConfig) {
		ctx := context.Background()
		n := time.Now()
		for i, slug := range []string{"harbour-workshop", "cluster-training"} {
			a := &article.Article{Slug: slug, Title: "Title of " + slug, Published: n.Add(-time.Duration(i+1) * time.Hour),
				Source: article.SourceAPI, ContentHash: slug, Summary: "Summary.", Tags: []article.Tag{{Name: "Ports", Slug: "ports"}}}
			if _, err := st.UpsertArticle(ctx, a, a.Published); err != nil {
				t.Fatal(err)
			}
		}
		db, err := sql.Open("sqlite", "file:"+st.Path()+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		exec := func(q string, args ...any) error { _, err := db.Exec(q, args...); return err }
		for i := 1; i <= 5; i++ {
			must(t, exec(`INSERT INTO subscribers (id, email, name, status, created_at, updated_at) VALUES (?, ?, ?, 'active', 0, 0)`,
				i, fmt.Sprintf("user%d@example.net", i), fmt.Sprintf("Reader %d", i)))
			must(t, exec(`INSERT INTO subscriptions (newsletter, subscriber_id, created_at) VALUES ('monthly', ?, 0)`, i))
		}
		must(t, exec(`INSERT INTO subscriber_tags (subscriber_id, tag_slug) VALUES (5, 'gardening')`))
		m, err := mail.NewSMTP(mail.SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: "none", HELO: "herald.test",
			Timeout: 5 * time.Second, Connections: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		svc, err := digest.New(digest.Config{
			Newsletters: []digest.Newsletter{{ID: "monthly", Title: "Cluster Bridge Monthly", Schedule: "0 9 1 * *", Location: time.UTC,
				MaxArticles: 20, FirstWindow: 30 * 24 * time.Hour, SendIfEmpty: true, Subject: "{{.Newsletter.Title}} — {{.Period}}"}},
			Site:      digest.Site{Title: "Herald Test", BaseURL: "https://news.example.org", Language: "en", Address: "Somewhere 1"},
			Templates: templates.Embedded(),
			From:      &netmail.Address{Name: "Herald", Address: "news@example.org"},
			Store:     st, Mailer: m, Workers: 1, RetryBase: 10 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		svc.StartWorkers(context.Background(), 50*time.Millisecond)
		t.Cleanup(func() { g.open(); svc.Close() })
		df.svc = svc
		c.Digest = svc
	}, defaultTokens()...)
	return df
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type runJSON struct {
	ID         int64  `json:"id"`
	Newsletter string `json:"newsletter"`
	Kind       string `json:"kind"`
	Status     string `json:"status"`
	Subject    string `json:"subject"`
	Articles   int    `json:"articles"`
	Recipients int    `json:"recipients"`
	Counts     *struct {
		Planned, Pending, Sending, Sent, Failed, Skipped int
	} `json:"counts"`
}

func (f *digestFixture) run(t *testing.T, r apiResp) runJSON {
	t.Helper()
	var out runJSON
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return out
}

// waitRun polls GET /runs/{id} until ok says so.
func (f *digestFixture) waitRun(t *testing.T, id int64, what string, ok func(runJSON) bool) runJSON {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := f.do(t, "GET", fmt.Sprintf("/api/v1/runs/%d", id), "")
		if r.Status != 200 {
			t.Fatalf("GET run %d: %d %s", id, r.Status, r.Body)
		}
		got := f.run(t, r)
		if ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d: %s: still %s", id, what, r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAPIDigest drives every digest endpoint over real HTTP: a send
// delivered by the running workers, its runs and deliveries paged, the
// preview, a test send, pause/resume/cancel with their conflicts, and the
// 404s and 400s.
func TestAPIDigest(t *testing.T) {
	f := newDigestAPIFixture(t)
	var sent runJSON

	t.Run("OKPreviewHTML", func(t *testing.T) {
		r := f.do(t, "GET", "/api/v1/newsletters/monthly/preview", "")
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(r.Body), "Title of harbour-workshop") || !strings.Contains(string(r.Body), "<html") {
			t.Fatalf("status %d %q: %.300s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	})
	t.Run("OKPreviewText", func(t *testing.T) {
		r := f.do(t, "GET", "/api/v1/newsletters/monthly/preview?format=text&as=user1@example.net", "")
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") ||
			!strings.Contains(string(r.Body), "Title of cluster-training") || !strings.Contains(string(r.Body), "Reader 1") {
			t.Fatalf("status %d %q: %s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	})
	t.Run("OKTestSend", func(t *testing.T) {
		r := f.do(t, "POST", "/api/v1/newsletters/monthly/test", `{"to":"editor@example.org"}`)
		run := f.run(t, r)
		if r.Status != 200 || run.Kind != "test" || run.Articles != 2 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		msgs := f.smtp.WaitMessages(1, 5*time.Second)
		if len(msgs) != 1 || msgs[0].To[0] != "editor@example.org" || !strings.Contains(string(msgs[0].Data), "X-Herald-Test: yes") {
			t.Fatalf("messages %d", len(msgs))
		}
	})
	t.Run("OKSendNow", func(t *testing.T) {
		r := f.do(t, "POST", "/api/v1/newsletters/monthly/send", "")
		sent = f.run(t, r)
		if r.Status != 202 || sent.Kind != "manual" || sent.Articles != 2 || sent.Recipients != 5 ||
			r.Header.Get("Location") != fmt.Sprintf("/api/v1/runs/%d", sent.ID) {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		got := f.waitRun(t, sent.ID, "delivered", func(r runJSON) bool { return r.Status == "done" })
		if c := got.Counts; c == nil || c.Planned != 5 || c.Sent != 4 || c.Skipped != 1 {
			t.Errorf("counts %+v", got.Counts)
		}
		if n := len(f.smtp.WaitMessages(5, 5*time.Second)); n != 5 {
			t.Errorf("%d messages, want 1 test + 4", n)
		}
	})
	t.Run("OKTestSendMovesNoWindow", func(t *testing.T) {
		// The manual run took both articles; the test before it did not.
		r := f.do(t, "GET", "/api/v1/newsletters/monthly/runs", "")
		var list struct{ Runs []runJSON }
		json.Unmarshal(r.Body, &list)
		if r.Status != 200 || len(list.Runs) != 2 || list.Runs[0].ID != sent.ID || list.Runs[1].Kind != "test" ||
			list.Runs[0].Counts == nil || list.Runs[0].Counts.Sent != 4 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
	t.Run("OKDeliveriesPaged", func(t *testing.T) {
		var ids []string
		cursor := ""
		for page := 0; page < 5; page++ {
			r := f.do(t, "GET", fmt.Sprintf("/api/v1/runs/%d/deliveries?limit=2&cursor=%s", sent.ID, cursor), "")
			var out struct {
				Deliveries []struct {
					SubscriberID int64  `json:"subscriber_id"`
					Email        string `json:"email"`
					Status       string `json:"status"`
					MessageID    string `json:"message_id"`
					Reply        string `json:"reply"`
				}
				NextCursor string `json:"next_cursor"`
			}
			if err := json.Unmarshal(r.Body, &out); r.Status != 200 || err != nil {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			for _, d := range out.Deliveries {
				ids = append(ids, fmt.Sprintf("%d:%s", d.SubscriberID, d.Status))
				if d.Status == "sent" && (d.MessageID == "" || d.Email == "") {
					t.Errorf("delivery %+v", d)
				}
			}
			if cursor = out.NextCursor; cursor == "" {
				break
			}
		}
		if got := strings.Join(ids, " "); got != "1:sent 2:sent 3:sent 4:sent 5:skipped" {
			t.Errorf("deliveries %s", got)
		}
		r := f.do(t, "GET", fmt.Sprintf("/api/v1/runs/%d/deliveries?status=skipped", sent.ID), "")
		if r.Status != 200 || strings.Count(string(r.Body), `"subscriber_id"`) != 1 || !strings.Contains(string(r.Body), "topics") {
			t.Errorf("status=skipped: %d %s", r.Status, r.Body)
		}
	})
	t.Run("PauseResumeCancel", func(t *testing.T) {
		f.gate.mu.Lock()
		f.gate.ch = make(chan struct{}) // hold the next message at DATA
		f.gate.mu.Unlock()
		r := f.do(t, "POST", "/api/v1/newsletters/monthly/send", "")
		run := f.run(t, r)
		if r.Status != 202 || run.Recipients != 5 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		<-f.gate.seen // the first message is in hand
		r = f.do(t, "POST", fmt.Sprintf("/api/v1/runs/%d/pause", run.ID), "")
		if got := f.run(t, r); r.Status != 200 || got.Status != "paused" {
			t.Fatalf("pause: %d %s", r.Status, r.Body)
		}
		before := len(f.smtp.Messages())
		f.gate.open()
		got := f.waitRun(t, run.ID, "settled while paused", func(r runJSON) bool { return r.Counts.Sending == 0 })
		if got.Status != "paused" || got.Counts.Sent+got.Counts.Skipped > 2 || got.Counts.Pending < 3 {
			t.Errorf("paused run: %+v %+v", got, got.Counts)
		}
		time.Sleep(200 * time.Millisecond)
		if n := len(f.smtp.Messages()); n > before+1 {
			t.Errorf("%d messages sent while paused", n-before)
		}
		if r := f.do(t, "POST", fmt.Sprintf("/api/v1/runs/%d/pause", run.ID), ""); r.Status != 409 {
			t.Errorf("pause a paused run: %d", r.Status)
		}
		r = f.do(t, "POST", fmt.Sprintf("/api/v1/runs/%d/resume", run.ID), "")
		if got := f.run(t, r); r.Status != 200 || got.Status != "sending" {
			t.Fatalf("resume: %d %s", r.Status, r.Body)
		}
		got = f.waitRun(t, run.ID, "done after resuming", func(r runJSON) bool { return r.Status == "done" })
		if got.Counts.Sent != 4 || got.Counts.Skipped != 1 {
			t.Errorf("counts %+v", got.Counts)
		}
		for _, op := range []string{"pause", "cancel", "resume"} {
			r := f.do(t, "POST", fmt.Sprintf("/api/v1/runs/%d/%s", run.ID, op), "")
			if r.Status != 409 || !strings.Contains(r.errorOf(t)["message"].(string), "is done") {
				t.Errorf("%s a done run: %d %s", op, r.Status, r.Body)
			}
		}
		// Cancel: everything open is settled skipped.
		f.gate.mu.Lock()
		f.gate.ch = make(chan struct{})
		f.gate.mu.Unlock()
		run = f.run(t, f.do(t, "POST", "/api/v1/newsletters/monthly/send", ""))
		<-f.gate.seen
		r = f.do(t, "POST", fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), "")
		got = f.run(t, r)
		if r.Status != 200 || got.Status != "cancelled" || got.Counts.Pending+got.Counts.Sending != 0 || got.Counts.Skipped < 4 {
			t.Fatalf("cancel: %d %s", r.Status, r.Body)
		}
		f.gate.open()
		got = f.waitRun(t, run.ID, "in-hand message recorded", func(r runJSON) bool { return r.Counts.Sent+r.Counts.Skipped == 5 })
		if got.Status != "cancelled" || got.Counts.Sent > 1 {
			t.Errorf("cancelled run: %+v %+v", got, got.Counts)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			field, msg               string
		}{
			{"ErrUnknownNewsletterRuns", "GET", "/api/v1/newsletters/weekly/runs", "", 404, "", "no newsletter"},
			{"ErrUnknownNewsletterPreview", "GET", "/api/v1/newsletters/weekly/preview", "", 404, "", "no newsletter"},
			{"ErrUnknownNewsletterTest", "POST", "/api/v1/newsletters/weekly/test", `{"to":"a@example.org"}`, 404, "", "no newsletter"},
			{"ErrUnknownNewsletterSend", "POST", "/api/v1/newsletters/weekly/send", "", 404, "", "no newsletter"},
			{"ErrUnknownRun", "GET", "/api/v1/runs/999", "", 404, "", "not found"},
			{"ErrRunIDNotNumber", "GET", "/api/v1/runs/abc", "", 404, "", "no run"},
			{"ErrUnknownRunDeliveries", "GET", "/api/v1/runs/999/deliveries", "", 404, "", "not found"},
			{"ErrUnknownRunPause", "POST", "/api/v1/runs/999/pause", "", 404, "", "not found"},
			{"ErrUnknownRunResume", "POST", "/api/v1/runs/999/resume", "", 404, "", "not found"},
			{"ErrUnknownRunCancel", "POST", "/api/v1/runs/999/cancel", "", 404, "", "not found"},
			{"ErrBadLimit", "GET", "/api/v1/newsletters/monthly/runs?limit=0", "", 400, "limit", "limit"},
			{"ErrBadDeliveryStatus", "GET", "/api/v1/runs/1/deliveries?status=lost", "", 400, "status", "status"},
			{"ErrBadCursor", "GET", "/api/v1/runs/1/deliveries?cursor=xyz", "", 400, "cursor", "cursor"},
			{"ErrBadFormat", "GET", "/api/v1/newsletters/monthly/preview?format=pdf", "", 400, "format", "format"},
			{"ErrPreviewNoTopicMatch", "GET", "/api/v1/newsletters/monthly/preview?as=user5@example.net", "", 422, "", "topics"},
			{"ErrTestEmptyBody", "POST", "/api/v1/newsletters/monthly/test", "", 400, "", "empty body"},
			{"ErrTestMalformed", "POST", "/api/v1/newsletters/monthly/test", `{"to":`, 400, "", "malformed"},
			{"ErrTestUnknownField", "POST", "/api/v1/newsletters/monthly/test", `{"to":"a@example.org","cc":"b@example.org"}`, 400, "cc", "unknown field"},
			{"ErrTestWrongType", "POST", "/api/v1/newsletters/monthly/test", `{"to":5}`, 400, "to", "must be a string"},
			{"ErrTestBadAddress", "POST", "/api/v1/newsletters/monthly/test", `{"to":"Ed <ed@example.org>"}`, 422, "to", "one email address"},
			{"ErrTestNoAddress", "POST", "/api/v1/newsletters/monthly/test", `{"to":""}`, 422, "to", "one email address"},
			{"ErrTestRefused", "POST", "/api/v1/newsletters/monthly/test", `{"to":"refused@example.net"}`, 502, "", "550"},
			{"ErrMethod", "DELETE", "/api/v1/runs/1", "", 405, "", "not allowed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := f.do(t, tc.method, tc.path, tc.body)
				if r.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
				}
				e := r.errorOf(t)
				if e["field"] != nil && e["field"] != tc.field || e["field"] == nil && tc.field != "" {
					t.Errorf("field %v, want %q", e["field"], tc.field)
				}
				if !strings.Contains(e["message"].(string), tc.msg) {
					t.Errorf("message %q, want %q", e["message"], tc.msg)
				}
			})
		}
		r := f.do(t, "POST", "/api/v1/newsletters/monthly/test", `{"to":"a@example.org"}`, "Content-Type", "text/plain")
		if r.Status != 415 {
			t.Errorf("text/plain body: %d", r.Status)
		}
	})
}

// TestAPIDigestAuth: every digest endpoint wants the bearer token, and
// without digests configured they answer 404.
func TestAPIDigestAuth(t *testing.T) {
	routes := [][2]string{
		{"GET", "/api/v1/newsletters/monthly/runs"}, {"GET", "/api/v1/newsletters/monthly/preview"},
		{"POST", "/api/v1/newsletters/monthly/test"}, {"POST", "/api/v1/newsletters/monthly/send"},
		{"GET", "/api/v1/runs/1"}, {"GET", "/api/v1/runs/1/deliveries"},
		{"POST", "/api/v1/runs/1/pause"}, {"POST", "/api/v1/runs/1/resume"}, {"POST", "/api/v1/runs/1/cancel"},
	}
	f := newDigestAPIFixture(t)
	off := newAPIFixture(t, defaultTokens()...)
	for _, rt := range routes {
		t.Run("ErrUnauthorized"+rt[0]+strings.ReplaceAll(rt[1], "/", "_"), func(t *testing.T) {
			for _, auth := range []string{"", "Bearer wrong-token-0000000000"} {
				r := f.do(t, rt[0], rt[1], "", "Authorization", auth)
				if r.Status != 401 {
					t.Errorf("%q: status %d", auth, r.Status)
				}
			}
			r := off.do(t, rt[0], rt[1], `{"to":"a@example.org"}`)
			if r.Status != 404 || !strings.Contains(r.errorOf(t)["message"].(string), "digests are not available") {
				t.Errorf("without digests: %d %s", r.Status, r.Body)
			}
		})
	}
	if n := len(f.smtp.Messages()); n != 0 {
		t.Errorf("%d messages sent without a token", n)
	}
}
