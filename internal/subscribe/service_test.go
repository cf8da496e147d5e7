package subscribe_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/templates"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

type env struct {
	svc   *subscribe.Service
	st    *sqlite.Store
	mails *subscribetest.Mailer
	clock *clock
}

func newEnv(t testing.TB, base string) *env {
	t.Helper()
	return newEnvWith(t, base, nil)
}

// newEnvWith is newEnv with the service's Config adjusted by edit.
func newEnvWith(t testing.TB, base string, edit func(*subscribe.Config)) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := st.TokenKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, mails: subscribetest.NewMailer(), clock: &clock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	cfg := subscribe.Config{
		BaseURL: base, SiteTitle: "Herald News", SiteAddress: "Lindholmspiren 5, Göteborg",
		Newsletters: []subscribe.Newsletter{{ID: "monthly", Title: "Cluster Bridge Monthly", Default: true},
			{ID: "weekly", Title: "Weekly", Tags: []string{"WP0", "WP1", "WP2", "WP3", "WP4", "WP5", "WP6", "Training", "Cluster Training"}}},
		ConfirmTTL: 7 * 24 * time.Hour, ResendInterval: time.Hour, StoreIP: true, ConsentText: "I agree.", Welcome: true,
		Templates: templates.Embedded(), Tokens: subscribe.NewTokens([][]byte{key}), Store: st, Mailer: e.mails, Now: e.clock.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	e.svc, err = subscribe.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) confirmToken(t *testing.T, m *subscribe.Mail) string {
	t.Helper()
	link, err := subscribetest.Link(m.Text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	return subscribetest.Token(link)
}

func TestSubscribeFlow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "https://news.example.org")
	req := subscribe.Request{Email: "Anna.Berg@Example.org", Name: "Anna Berg", IP: "192.0.2.7", Source: "https://news.example.org/"}
	if err := e.svc.Subscribe(ctx, req); err != nil {
		t.Fatal(err)
	}
	m := e.mails.Wait(t, 1)
	if m.Kind != "confirm" || m.To != "Anna.Berg@example.org" || m.ToName != "" || strings.Contains(m.Text+m.HTML, "Anna Berg") || m.ListUnsubscribe != "" {
		t.Fatalf("confirm mail: %+v", m)
	}
	sub, err := e.st.SubscriberByEmail(ctx, "Anna.Berg@example.org")
	if err != nil || sub.Status != subscribe.StatusPending || strings.Join(sub.Newsletters, ",") != "monthly" {
		t.Fatalf("pending: %+v %v", sub, err)
	}
	if sub.Consent.IP != "192.0.2.7" || sub.Consent.Text != "I agree." || sub.Consent.Source != "https://news.example.org/" || sub.Consent.At.IsZero() {
		t.Errorf("consent: %+v", sub.Consent)
	}

	// Within resend_interval: no second mail.
	if err := e.svc.Subscribe(ctx, req); err != nil {
		t.Fatal(err)
	}
	e.clock.t = e.clock.t.Add(61 * time.Minute)
	if err := e.svc.Subscribe(ctx, req); err != nil {
		t.Fatal(err)
	}
	if n := len(e.mails.Mails()); n != 2 {
		t.Fatalf("mails after resend interval: %d, want 2", n)
	}
	tok := e.confirmToken(t, e.mails.Wait(t, 2))
	if _, err := e.svc.CheckConfirm(ctx, tok); err != nil {
		t.Fatal(err)
	}
	sub, err = e.svc.Confirm(ctx, tok)
	if err != nil || sub.Status != subscribe.StatusActive {
		t.Fatalf("confirm: %+v %v", sub, err)
	}
	w := e.mails.Wait(t, 3)
	if w.Kind != "welcome" || !strings.HasPrefix(w.ListUnsubscribe, "https://news.example.org/unsubscribe?token=") || !w.OneClick ||
		w.ListID != `"Cluster Bridge Monthly" <monthly.news.example.org>` {
		t.Fatalf("welcome: %+v", w)
	}
	// Confirming again changes nothing and sends nothing.
	if _, err := e.svc.Confirm(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// Active: subscribing again sends nothing.
	e.clock.t = e.clock.t.Add(2 * time.Hour)
	if err := e.svc.Subscribe(ctx, req); err != nil {
		t.Fatal(err)
	}
	if n := len(e.mails.Mails()); n != 3 {
		t.Fatalf("mails: %d, want 3", n)
	}

	// One click from the welcome mail.
	sub, err = e.svc.Unsubscribe(ctx, subscribetest.Token(w.ListUnsubscribe), false)
	if err != nil || sub.Status != subscribe.StatusUnsubscribed || len(sub.Newsletters) != 0 {
		t.Fatalf("unsubscribe: %+v %v", sub, err)
	}
	// The old confirm link must not resubscribe.
	if sub, err = e.svc.Confirm(ctx, tok); err != nil || sub.Status != subscribe.StatusUnsubscribed {
		t.Fatalf("old confirm link: %+v %v", sub, err)
	}
	// Re-subscribing goes through opt-in again; the status stays until then.
	req.Newsletters = []string{"weekly"}
	if err := e.svc.Subscribe(ctx, req); err != nil {
		t.Fatal(err)
	}
	c := e.mails.Wait(t, 4)
	sub, _ = e.st.SubscriberByEmail(ctx, "Anna.Berg@example.org")
	if c.Kind != "confirm" || sub.Status != subscribe.StatusUnsubscribed || sub.Pending == nil {
		t.Fatalf("resubscribe: %+v %+v", c, sub)
	}
	sub, err = e.svc.Confirm(ctx, e.confirmToken(t, c))
	if err != nil || sub.Status != subscribe.StatusActive || strings.Join(sub.Newsletters, ",") != "weekly" || sub.Pending != nil {
		t.Fatalf("reconfirm: %+v %v", sub, err)
	}
}

func TestSubscribeErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "http://localhost:8080")
	tests := []struct {
		name string
		req  subscribe.Request
		want error
	}{
		{"ErrInvalidEmail", subscribe.Request{Email: "a@b\r\nBcc: c@d.example"}, subscribe.ErrInvalidEmail},
		{"ErrInvalidInput", subscribe.Request{Email: "a@example.org", Name: "x\r\nBcc: c@d.example"}, subscribe.ErrInvalidInput},
		{"ErrUnknownNewsletter", subscribe.Request{Email: "a@example.org", Newsletters: []string{"daily"}}, subscribe.ErrUnknownNewsletter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.svc.Subscribe(ctx, tt.req); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("Honeypot", func(t *testing.T) {
		if err := e.svc.Subscribe(ctx, subscribe.Request{Email: "bot@example.org", Honeypot: "http://spam.example"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.SubscriberByEmail(ctx, "bot@example.org"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("honeypot stored: %v", err)
		}
	})
	t.Run("ErrExpiredToken", func(t *testing.T) {
		if err := e.svc.Subscribe(ctx, subscribe.Request{Email: "late@example.org"}); err != nil {
			t.Fatal(err)
		}
		tok := e.confirmToken(t, e.mails.Wait(t, 1))
		e.clock.t = e.clock.t.Add(7*24*time.Hour + time.Second)
		if _, err := e.svc.Confirm(ctx, tok); !errors.Is(err, subscribe.ErrExpiredToken) {
			t.Fatalf("got %v", err)
		}
		// Not yet twice the TTL: kept; after: deleted.
		if n, err := e.svc.Cleanup(ctx); err != nil || n != 0 {
			t.Fatalf("cleanup early: %d %v", n, err)
		}
		e.clock.t = e.clock.t.Add(7 * 24 * time.Hour)
		if n, err := e.svc.Cleanup(ctx); err != nil || n != 1 {
			t.Fatalf("cleanup: %d %v", n, err)
		}
	})
	t.Run("MailFailure", func(t *testing.T) {
		e.mails.Fail = errors.New("smtp down")
		defer func() { e.mails.Fail = nil }()
		if err := e.svc.Subscribe(ctx, subscribe.Request{Email: "retry@example.org"}); err != nil {
			t.Fatal(err)
		}
		sub, _ := e.st.SubscriberByEmail(ctx, "retry@example.org")
		if !sub.ConfirmSentAt.IsZero() {
			t.Fatal("a failed mail blocks the retry")
		}
	})
}

func TestPreferences(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "http://localhost:8080")
	sub, _, err := e.svc.Add(ctx, "pia@example.org", "Pia", nil, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	tok := e.svc.Tokens().Preferences(sub.ID, sub.LinkSecret)
	sub, confirm, err := e.svc.UpdatePreferences(ctx, tok, subscribe.PreferencesUpdate{Name: "Pia K", Newsletters: []string{"weekly", "monthly"}, Tags: []string{"Cluster Training"}})
	if err != nil || confirm || sub.Name != "Pia K" || strings.Join(sub.Newsletters, ",") != "monthly,weekly" || strings.Join(sub.Tags, ",") != "cluster-training" {
		t.Fatalf("update: %+v %v %v", sub, confirm, err)
	}
	sub, _, err = e.svc.UpdatePreferences(ctx, tok, subscribe.PreferencesUpdate{Name: "Pia K"})
	if err != nil || sub.Status != subscribe.StatusUnsubscribed {
		t.Fatalf("none chosen: %+v %v", sub, err)
	}
	sub, confirm, err = e.svc.UpdatePreferences(ctx, tok, subscribe.PreferencesUpdate{Newsletters: []string{"weekly"}})
	if err != nil || !confirm || sub.Status != subscribe.StatusUnsubscribed || len(e.mails.Mails()) != 1 {
		t.Fatalf("resubscribe: %+v %v %v %d", sub, confirm, err, len(e.mails.Mails()))
	}
}

func TestCSV(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "http://localhost:8080")
	in := "\ufeffname,EMAIL,newsletters,tags,status,subscribed_at\n" +
		"Åsa Lindqvist,asa@Example.org,monthly;weekly,Training;wp4,active,2025-01-02T03:04:05Z\n" +
		"=1+2,bo@example.org,,,,\n" +
		"x,not-an-address,,,,\n" +
		"y,c@example.org,daily,,,\n" +
		"z,d@example.org,,,sleeping,\n" +
		"q,bo@example.org,,,,\n" +
		"\"unterminated,e@example.org,,,,\n"
	rep, err := e.svc.Import(ctx, strings.NewReader(in), subscribe.ImportOptions{Confirmed: true, Source: "people.csv"})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, re := range rep.Errors {
		lines = append(lines, re.Error())
	}
	if rep.Added != 2 || len(rep.Errors) != 5 {
		t.Fatalf("report %+v: %q", rep, lines)
	}
	for i, want := range []string{"4: ", "5: ", "6: ", "7: bo@example.org is also on line 3", "8: "} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("error %d = %q, want prefix %q", i, lines[i], want)
		}
	}
	asa, err := e.st.SubscriberByEmail(ctx, "asa@example.org")
	if err != nil || asa.Status != subscribe.StatusActive || strings.Join(asa.Newsletters, ",") != "monthly,weekly" ||
		strings.Join(asa.Tags, ",") != "training,wp4" || asa.Consent.Source != "import:people.csv" || asa.Consent.At.Year() != 2025 {
		t.Fatalf("asa: %+v %v", asa, err)
	}
	bo, _ := e.st.SubscriberByEmail(ctx, "bo@example.org")
	if bo.Status != subscribe.StatusActive || strings.Join(bo.Newsletters, ",") != "monthly" {
		t.Fatalf("bo: %+v", bo)
	}
	// Export, then import the export into a fresh store: the same subscribers.
	var out bytes.Buffer
	if err := e.svc.Export(ctx, &out); err != nil {
		t.Fatal(err)
	}
	// A name a spreadsheet would run as a formula is exported as text.
	if !strings.Contains(out.String(), "bo@example.org,'=1+2,") {
		t.Errorf("formula not neutralised in the export:\n%s", out.String())
	}
	rep, err = e.svc.Import(ctx, bytes.NewReader(out.Bytes()), subscribe.ImportOptions{})
	if err != nil || rep.Added != 0 || rep.Unchanged != 2 || len(rep.Errors) != 0 {
		t.Fatalf("re-import: %+v %v", rep, err)
	}
	e2 := newEnv(t, "http://localhost:8080")
	if _, err := e2.svc.Import(ctx, bytes.NewReader(out.Bytes()), subscribe.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var out2 bytes.Buffer
	if err := e2.svc.Export(ctx, &out2); err != nil {
		t.Fatal(err)
	}
	if out.String() != out2.String() {
		t.Errorf("export round trip differs:\n%s\n%s", out.String(), out2.String())
	}
	// --send-optin mails pending rows that never got a mail, once.
	in = "email\nnew1@example.org\nnew2@example.org\n"
	for i := 0; i < 2; i++ {
		if _, err := e.svc.Import(ctx, strings.NewReader(in), subscribe.ImportOptions{SendOptin: true}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.mails.Mails()); n != 2 {
		t.Fatalf("opt-in mails: %d, want 2", n)
	}
	// GDPR.
	data, err := e.svc.ExportData(ctx, "asa@example.org")
	if err != nil || data.Subscriber.Email != "asa@example.org" {
		t.Fatal(err)
	}
	if err := e.svc.Erase(ctx, "asa@EXAMPLE.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ExportData(ctx, "asa@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after erase: %v", err)
	}
	if n, _ := e.st.Erasures(ctx); n != 1 {
		t.Fatalf("erasures = %d", n)
	}
	if sub, err := e.svc.Remove(ctx, "bo@example.org"); err != nil || sub.Status != subscribe.StatusUnsubscribed {
		t.Fatalf("remove: %+v %v", sub, err)
	}
	list, _ := e.svc.List(ctx, subscribe.Filter{Status: subscribe.StatusPending})
	if len(list) != 2 {
		t.Fatalf("pending: %d", len(list))
	}
}

// gateMailer holds every send until the gate opens.
type gateMailer struct {
	gate chan struct{}
	sent chan *subscribe.Mail
}

func (g *gateMailer) Send(ctx context.Context, m *subscribe.Mail) error {
	<-g.gate
	g.sent <- m
	return nil
}

// TestMailAfterAnswer: with MailAfterAnswer, Subscribe answers before the
// confirmation mail is out (so timing tells nothing about the address), and
// Wait returns only once it is.
func TestMailAfterAnswer(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := &gateMailer{gate: make(chan struct{}), sent: make(chan *subscribe.Mail, 1)}
	svc, err := subscribe.New(subscribe.Config{
		BaseURL: "https://news.example.org", SiteTitle: "Herald News",
		Newsletters: []subscribe.Newsletter{{ID: "monthly", Title: "Monthly", Default: true}},
		ConfirmTTL:  24 * time.Hour, ResendInterval: time.Hour, ConsentText: "I agree.",
		Templates: templates.Embedded(), Tokens: subscribe.NewTokens([][]byte{[]byte("0123456789abcdef0123456789abcdef")}),
		Store: st, Mailer: g, MailAfterAnswer: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := svc.Subscribe(ctx, subscribe.Request{Email: "asa@example.org"}); err != nil {
		t.Fatal(err) // returned with the mail still held at the gate
	}
	cancel() // the request is over; the mail must still go out
	waited := make(chan struct{})
	go func() { svc.Wait(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("Wait returned before the mail was sent")
	case <-time.After(50 * time.Millisecond):
	}
	close(g.gate)
	if m := <-g.sent; m.Kind != "confirm" || m.To != "asa@example.org" {
		t.Errorf("mail %+v", m)
	}
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the mail went out")
	}
}

// TestCSVFormulaGuard: no exported cell starts a spreadsheet formula,
// whichever column it is in (an address may start with "="), and the
// export imports back to the same subscribers.
func TestCSVFormulaGuard(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "http://localhost:8080")
	in := "email,name,status\n" +
		"=2+3@example.org,@SUM(A1),active\n" +
		"-x@example.org,'=quoted,active\n" +
		"+y@example.org,'Tis,active\n" +
		"''=z@example.org,Plain,active\n" // the address '=z@example.org, guarded
	rep, err := e.svc.Import(ctx, strings.NewReader(in), subscribe.ImportOptions{})
	if err != nil || rep.Added != 4 || len(rep.Errors) != 0 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	var out bytes.Buffer
	if err := e.svc.Export(ctx, &out); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(out.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		for i, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %s starts a formula: %q", recs[0][i], cell)
			}
		}
	}
	e2 := newEnv(t, "http://localhost:8080")
	if rep, err := e2.svc.Import(ctx, bytes.NewReader(out.Bytes()), subscribe.ImportOptions{}); err != nil || rep.Added != 4 || len(rep.Errors) != 0 {
		t.Fatalf("re-import: %+v %v", rep, err)
	}
	for email, name := range map[string]string{"=2+3@example.org": "@SUM(A1)", "-x@example.org": "=quoted", "+y@example.org": "'Tis", "'=z@example.org": "Plain"} {
		sub, err := e2.st.SubscriberByEmail(ctx, email)
		if err != nil || sub.Name != name {
			t.Errorf("%s: %+v %v", email, sub, err)
		}
	}
	var out2 bytes.Buffer
	if err := e2.svc.Export(ctx, &out2); err != nil {
		t.Fatal(err)
	}
	if out.String() != out2.String() {
		t.Errorf("export round trip differs:\n%s\n%s", out.String(), out2.String())
	}
}
