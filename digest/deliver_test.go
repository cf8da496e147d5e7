package digest_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/internal/mail/mailtest"
)

func smtpMailer(t testing.TB, srv *mailtest.Server, conns int) *mail.SMTP {
	t.Helper()
	m, err := mail.NewSMTP(mail.SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: "none", HELO: "herald.test",
		Timeout: 5 * time.Second, Connections: conns}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// parts decodes a message: its header and its text and HTML parts.
func parts(t testing.TB, raw []byte) (netmail.Header, string, string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var text, html string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			r = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(r)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			html = string(b)
		} else {
			text = string(b)
		}
	}
	return msg.Header, text, html
}

// faults counts attempts per recipient to fail the first few.
type faults struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *faults) attempt(to string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[to]++
	return f.n[to]
}

// TestDeliverSMTP delivers a run over SMTP with every kind of fault: each
// deliverable message arrives once, personalised; 550s fail without retry
// and bounce the address; topic subscribers get their variant or nothing.
func TestDeliverSMTP(t *testing.T) {
	e, _ := composeFixture(t)
	const n = 40
	e.subscribers(t, n, map[int][]string{5: {"ports"}, 6: {"gardening"}})
	var f faults
	srv := mailtest.NewServer(t, mailtest.Options{
		OnRcpt: func(from, to string) *mailtest.Reply {
			switch to {
			case "user7@example.net":
				return &mailtest.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
			case "user8@example.net":
				if f.attempt(to) <= 2 {
					return &mailtest.Reply{Code: 451, Text: "try again later"}
				}
			}
			return nil
		},
		OnData: func(m mailtest.Message) *mailtest.Reply {
			if m.To[0] == "user10@example.net" && f.attempt(m.To[0]) == 1 {
				return &mailtest.Reply{Code: 421, Text: "closing"}
			}
			return nil
		},
		DropData: func(from string, to []string) bool {
			return to[0] == "user9@example.net" && f.attempt("drop"+to[0]) == 1
		},
	})
	// Message-IDs carry the store's installation id; the newsletter has a
	// Reply-To of its own.
	ctx := context.Background()
	inst, err := e.st.InstallationID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.nl.ReplyTo = &netmail.Address{Name: "Editors", Address: "editors@example.org"}
	s := e.service(t, smtpMailer(t, srv, 4), func(c *digest.Config) { c.Installation = inst })
	run, err := s.PlanSlot(ctx, "monthly", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	go func() { // let retries come due
		for i := 0; i < 2000; i++ {
			time.Sleep(5 * time.Millisecond)
			e.clock.Add(50 * time.Millisecond)
		}
	}()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.DeliverRun(dctx, run.ID); err != nil {
		t.Fatal(err)
	}
	counts, _ := e.st.RunCounts(ctx, run.ID)
	if want := (digest.Counts{Planned: n, Sent: n - 2, Failed: 1, Skipped: 1}); counts != want {
		t.Fatalf("counts %+v, want %+v", counts, want)
	}
	got := map[string]int{}
	for _, m := range srv.Messages() {
		got[m.To[0]]++
		if m.From != "news@example.org" {
			t.Errorf("envelope from %q", m.From)
		}
	}
	for i := 1; i <= n; i++ {
		addr := "user" + itoa(i) + "@example.net"
		want := 1
		if i == 6 || i == 7 {
			want = 0
		}
		if got[addr] != want {
			t.Errorf("%s received %d messages, want %d", addr, got[addr], want)
		}
	}
	// A connection the client drops after a 421 or a cut DATA may still
	// count on the server side for a moment while its replacement opens.
	if total, peak := srv.Sessions(); peak > 5 || total > 12 {
		t.Errorf("sessions: %d total, %d at once (connections: 4, reused)", total, peak)
	}
	r, _ := e.st.GetRun(ctx, run.ID)
	if r.Status != digest.RunDone {
		t.Errorf("run status %s", r.Status)
	}
	var rows []digest.DeliveryRow
	e.st.Deliveries(ctx, run.ID, func(d digest.DeliveryRow) error { rows = append(rows, d); return nil })
	if d := rows[6]; d.Status != digest.DeliveryFailed || d.Attempts != 1 || !strings.HasPrefix(d.Reply, "550") {
		t.Errorf("550 delivery: %+v", d)
	}
	if d := rows[7]; d.Status != digest.DeliverySent || d.Attempts != 3 || d.MessageID != "digest.1.8."+inst+"@example.org" {
		t.Errorf("451 twice delivery: %+v", d)
	}
	if d := rows[5]; d.Status != digest.DeliverySkipped {
		t.Errorf("topic without match: %+v", d)
	}
	c, _, _ := e.st.LookupSubscriber(ctx, "user7@example.net")
	db := openRaw(t, e.st.Path())
	defer db.close()
	var status string
	var hard int
	db.db.QueryRow(`SELECT status, hard_failures FROM subscribers WHERE id = ?`, c.SubscriberID).Scan(&status, &hard)
	if status != "bounced" || hard != 1 {
		t.Errorf("user7 is %s with %d hard failures", status, hard)
	}

	// The messages themselves.
	for _, m := range srv.Messages() {
		h, text, html := parts(t, m.Data)
		switch m.To[0] {
		case "user1@example.net":
			to, err := netmail.ParseAddress(h.Get("To"))
			if err != nil || to.Name != "Reader Nº1" || to.Address != "user1@example.net" {
				t.Errorf("To %q: %v", h.Get("To"), err)
			}
			dec := new(mime.WordDecoder)
			subj, _ := dec.DecodeHeader(h.Get("Subject"))
			checks := map[string]string{
				"Subject":               "Cluster Bridge Monthly — December 2026",
				"List-Unsubscribe":      "<https://news.example.org/unsubscribe?token=u1-monthly>",
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
				"Message-Id":            "<digest.1.1." + inst + "@example.org>",
				"Reply-To":              `"Editors" <editors@example.org>`,
				"Feedback-Id":           "run-1:monthly:digest:herald",
				"List-Id":               "Cluster Bridge Monthly <monthly.news.example.org>",
			}
			for k, want := range checks {
				got := h.Get(k)
				if k == "Subject" {
					got = subj
				}
				if got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if h.Get("Date") == "" || !strings.Contains(h.Get("From"), "news@example.org") {
				t.Errorf("Date %q From %q", h.Get("Date"), h.Get("From"))
			}
			if !strings.Contains(html, "Hello Reader Nº1,") || !strings.Contains(html, "preferences?token=p1&amp;x=1") ||
				!strings.Contains(text, "Unsubscribe: https://news.example.org/unsubscribe?token=u1-monthly") || strings.Contains(html+text, "~HERALD~") {
				t.Errorf("user1 not personalised:\n%s", text)
			}
		case "user5@example.net":
			if strings.Contains(text, "cluster training") || !strings.Contains(text, "Study visit to Hamburg") || !strings.Contains(text, "for the topics Ports") {
				t.Errorf("topic variant:\n%s", text)
			}
		}
	}
}

// TestGiveUpTemporary: an address that always answers 451 is tried
// max_attempts times, then failed and counted a soft failure.
func TestGiveUpTemporary(t *testing.T) {
	e, _ := composeFixture(t)
	e.subscribers(t, 3, nil)
	srv := mailtest.NewServer(t, mailtest.Options{OnRcpt: func(_, to string) *mailtest.Reply {
		if to == "user2@example.net" {
			return &mailtest.Reply{Code: 451, Text: "greylisted"}
		}
		return nil
	}})
	s := e.service(t, smtpMailer(t, srv, 2), nil)
	ctx := context.Background()
	run, err := s.PlanNow(ctx, "monthly")
	if err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	go func() {
		for dctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
			e.clock.Add(50 * time.Millisecond)
		}
	}()
	if err := s.DeliverRun(dctx, run.ID); err != nil {
		t.Fatal(err)
	}
	var rows []digest.DeliveryRow
	e.st.Deliveries(ctx, run.ID, func(d digest.DeliveryRow) error { rows = append(rows, d); return nil })
	if d := rows[1]; d.Status != digest.DeliveryFailed || d.Attempts != 4 || !strings.Contains(d.Reply, "gave up after 4 attempts: 451") {
		t.Fatalf("always-451 delivery: %+v", d)
	}
	if rows[0].Status != digest.DeliverySent || rows[2].Status != digest.DeliverySent {
		t.Fatalf("rows %+v", rows)
	}
}

// TestStopAndResume: stopping the workers mid-run finishes and records the
// messages in hand and gives back the rest; a new start sends the rest,
// each recipient exactly once.
func TestStopAndResume(t *testing.T) {
	e, _ := composeFixture(t)
	const n = 150
	e.subscribers(t, n, nil)
	srv := mailtest.NewServer(t, mailtest.Options{OnData: func(mailtest.Message) *mailtest.Reply {
		time.Sleep(3 * time.Millisecond)
		return nil
	}})
	m := smtpMailer(t, srv, 3)
	s := e.service(t, m, func(c *digest.Config) { c.Workers = 3; c.Now = time.Now })
	ctx := context.Background()
	run, err := s.PlanNow(ctx, "monthly")
	if err != nil {
		t.Fatal(err)
	}
	s.StartWorkers(ctx, 50*time.Millisecond)
	srv.WaitMessages(30, 10*time.Second)
	s.StopWorkers()
	counts, _ := e.st.RunCounts(ctx, run.ID)
	accepted := len(srv.Messages())
	if counts.Sending != 0 || counts.Sent != accepted || accepted >= n {
		t.Fatalf("after stop: %+v with %d accepted", counts, accepted)
	}
	s.StartWorkers(ctx, 50*time.Millisecond)
	msgs := srv.WaitMessages(n, 20*time.Second)
	s.StopWorkers()
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.To[0]] {
			t.Errorf("%s received the digest twice", m.To[0])
		}
		seen[m.To[0]] = true
	}
	counts, _ = e.st.RunCounts(ctx, run.ID)
	if len(seen) != n || counts.Sent != n {
		t.Fatalf("%d recipients, counts %+v", len(seen), counts)
	}
}

// outbox records what SendTest sends.
type recorder struct {
	mu   sync.Mutex
	envs []mail.Envelope
	raws [][]byte
}

func (r *recorder) Send(_ context.Context, env mail.Envelope, raw []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.envs = append(r.envs, env)
	r.raws = append(r.raws, bytes.Clone(raw))
	return nil
}

func TestSendTest(t *testing.T) {
	e, _ := composeFixture(t)
	var rec recorder
	s := e.service(t, &rec, nil)
	ctx := context.Background()
	run, err := s.SendTest(ctx, "monthly", "editor@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != digest.KindTest || len(rec.raws) != 1 || rec.envs[0].To[0] != "editor@example.org" {
		t.Fatalf("test send %+v %v", run, rec.envs)
	}
	h, text, _ := parts(t, rec.raws[0])
	if subj, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); !strings.HasPrefix(subj, "[Test] ") || h.Get("X-Herald-Test") != "yes" {
		t.Fatalf("test headers %v", h)
	}
	if !strings.Contains(text, "Study visit to Hamburg") {
		t.Fatalf("text %s", text)
	}
	if _, ok, _ := e.st.NewsletterState(ctx, "monthly"); ok {
		t.Fatal("a test send moved the window")
	}
	if runs, _ := e.st.ListRuns(ctx, "", true, 0); len(runs) != 0 {
		t.Fatal("a test run is in the archive")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
