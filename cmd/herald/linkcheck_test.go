package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/lang"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/internal/testenv"
	"github.com/herald-news/herald/templates"
)

// linkSite is a live daemon (serve, the example articles, mail through
// Mailpit's SMTP) whose mails Mailpit's link-check follows.
type linkSite struct {
	mp  *testenv.MailpitServer
	env map[string]string
	srv string // http://host:port, site.base_url
}

// mailpitMsg is a message in Mailpit's list.
type mailpitMsg struct {
	ID, Subject string
	To          []struct{ Address string }
}

func newLinkSite(t *testing.T) *linkSite {
	t.Helper()
	mp := testenv.Mailpit(t, "--allow-internal-http-requests")
	host, port, _ := net.SplitHostPort(mp.SMTPAddr)
	env, _ := testEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	examples, _ := filepath.Abs(filepath.Join("..", "..", "examples", "articles"))
	for k, v := range map[string]string{"HERALD_HTTP_LISTEN": addr, "HERALD_SITE_BASE_URL": "http://" + addr,
		"HERALD_CONTENT_DIR": examples, "HERALD_CONTENT_WATCH": "false", "HERALD_MAIL_TRANSPORT": "smtp",
		"HERALD_MAIL_SMTP_HOST": host, "HERALD_MAIL_SMTP_PORT": port, "HERALD_MAIL_SMTP_TLS": "none"} {
		env[k] = v
	}
	// The example articles are of autumn 2026: the first run reaches back
	// to them whatever today's date.
	conf := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(conf, []byte(`newsletters:
  - id: monthly
    title: Cluster Bridge Monthly
    schedule: "0 9 1 * *"
    timezone: Europe/Stockholm
    first_window: 36500d
    subject: "{{.Newsletter.Title}} — {{.Period}}"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	env["HERALD_CONFIG"] = conf
	if code, _, errs := runCLI(t, env, "import", examples); code != 0 {
		t.Fatal(errs)
	}
	cfg, err := LoadConfig(conf, env)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &linkSite{mp: mp, env: env, srv: "http://" + addr}
}

// wait returns Mailpit's messages, newest first, once it holds n.
func (s *linkSite) wait(t *testing.T, n int) []mailpitMsg {
	t.Helper()
	var list struct{ Messages []mailpitMsg }
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		s.mp.GetJSON(t, "/messages?limit=200", &list)
		if len(list.Messages) >= n || time.Now().After(deadline) {
			break
		}
	}
	if len(list.Messages) < n {
		for _, m := range list.Messages {
			t.Logf("%v: %s", m.To, m.Subject)
		}
		t.Fatalf("mailpit holds %d messages, want %d", len(list.Messages), n)
	}
	return list.Messages
}

// check runs link-check on m: every Herald link must answer 200, and a
// mail has at least two.
func (s *linkSite) check(t *testing.T, kind string, m mailpitMsg) {
	t.Helper()
	lc := s.mp.LinkCheck(t, m.ID)
	herald := 0
	for _, l := range lc.Links {
		if !strings.HasPrefix(l.URL, s.srv) {
			continue
		}
		herald++
		if l.StatusCode != http.StatusOK {
			t.Errorf("%s (%s): %s answers %d %s", kind, m.Subject, l.URL, l.StatusCode, l.Status)
		}
	}
	t.Logf("%s (%s): %d Herald links, all checked", kind, m.Subject, herald)
	if herald < 2 {
		t.Errorf("%s: only %d Herald links", kind, herald)
	}
}

// body is the text and HTML of message id.
func (s *linkSite) body(t *testing.T, id string) (text, html string) {
	t.Helper()
	var raw struct{ Text, HTML string }
	s.mp.GetJSON(t, "/message/"+id, &raw)
	return raw.Text, raw.HTML
}

// subscribe posts the form, choosing language ("": none) and topic tags.
func (s *linkSite) subscribe(t *testing.T, email, name, language string, tags ...string) {
	t.Helper()
	v := url.Values{"email": {email}, "name": {name}, "tag": tags}
	if language != "" {
		v.Set("language", language)
	}
	resp, err := http.PostForm(s.srv+"/subscribe", v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe %s: %s", email, resp.Status)
	}
}

// confirm follows the confirmation link in text.
func (s *linkSite) confirm(t *testing.T, text string) {
	t.Helper()
	link, err := subscribetest.Link(text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(s.srv+"/subscribe/confirm", url.Values{"token": {subscribetest.Token(link)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestJudgeMailpitLinkCheck: on a live run (serve, mail through Mailpit's
// SMTP), Mailpit's link-check finds every Herald link of the confirmation,
// the welcome, a digest, a topic subscriber's digest (whose "view in
// browser" is its own variant of the issue) and a test send answering 200.
func TestJudgeMailpitLinkCheck(t *testing.T) {
	s := newLinkSite(t)
	s.subscribe(t, "asa@example.org", "Åsa", "")
	confirm := s.wait(t, 1)[0]
	s.check(t, "confirmation", confirm)
	text, _ := s.body(t, confirm.ID)
	s.confirm(t, text)
	s.check(t, "welcome", s.wait(t, 2)[0])
	// A topic subscriber: only WP4's articles.
	s.subscribe(t, "soren@example.org", "Sören", "", "WP4")
	text, _ = s.body(t, s.wait(t, 3)[0].ID)
	s.confirm(t, text)
	s.wait(t, 4)
	if code, _, errs := runCLI(t, s.env, "digest", "send", "--newsletter", "monthly", "--now"); code != 0 {
		t.Fatal(errs)
	}
	to := map[string]mailpitMsg{}
	for _, m := range s.wait(t, 6)[:2] {
		to[m.To[0].Address] = m
	}
	s.check(t, "digest", to["asa@example.org"])
	topic := to["soren@example.org"]
	s.check(t, "topic digest", topic)
	if text, _ := s.body(t, topic.ID); !regexp.MustCompile(`/newsletters/monthly/\d+/a:[^\s]+`).MatchString(text) {
		t.Errorf("the topic digest's browser link is not its own variant:\n%s", text)
	}
	if code, _, errs := runCLI(t, s.env, "digest", "send", "--newsletter", "monthly", "--test-to", "editor@example.org"); code != 0 {
		t.Fatal(errs)
	}
	s.check(t, "test send", s.wait(t, 7)[0])
}

// TestJudgeMailpitLinkCheckLanguages: one daemon, a subscriber in each
// shipped language; the confirmation, the welcome and the digest of one
// run (a variant per language: its "view in browser" page among the
// links) are each in that language, and every Herald link in them
// answers 200.
func TestJudgeMailpitLinkCheckLanguages(t *testing.T) {
	s := newLinkSite(t)
	codes := lang.Shipped()
	addr := func(code string) string { return "lang-" + code + "@example.org" }
	for _, code := range codes {
		s.subscribe(t, addr(code), "Reader "+code, code)
	}
	seen := map[string]bool{}
	// byLanguage is each subscriber's newest message not seen before.
	byLanguage := func(n int) map[string]mailpitMsg {
		t.Helper()
		got := map[string]mailpitMsg{}
		for _, m := range s.wait(t, n) {
			if seen[m.ID] || len(m.To) != 1 {
				continue
			}
			code, ok := strings.CutPrefix(strings.TrimSuffix(m.To[0].Address, "@example.org"), "lang-")
			if !ok || !slices.Contains(codes, code) {
				t.Fatalf("a message to %v", m.To)
			}
			if _, dup := got[code]; dup {
				t.Fatalf("two new messages to %s", m.To[0].Address)
			}
			seen[m.ID] = true
			got[code] = m
		}
		if len(got) != len(codes) {
			t.Fatalf("new messages for %d languages, want %d", len(got), len(codes))
		}
		return got
	}
	// checkAll link-checks each language's mail and wants it in that
	// language; it returns the texts.
	checkAll := func(kind string, msgs map[string]mailpitMsg) map[string]string {
		t.Helper()
		texts := map[string]string{}
		for _, code := range codes {
			m := msgs[code]
			text, html := s.body(t, m.ID)
			if !strings.Contains(html, `<html lang="`+code+`"`) {
				t.Errorf("%s to %s is not in %s: %q", kind, addr(code), code, m.Subject)
			}
			s.check(t, kind+" "+code, m)
			texts[code] = text
		}
		return texts
	}
	n := len(codes)
	for _, text := range checkAll("confirmation", byLanguage(n)) {
		s.confirm(t, text)
	}
	checkAll("welcome", byLanguage(2*n))
	if code, _, errs := runCLI(t, s.env, "digest", "send", "--newsletter", "monthly", "--now"); code != 0 {
		t.Fatal(errs)
	}
	digests := byLanguage(3 * n)
	texts := checkAll("digest", digests)
	// Each digest's chrome and the period in its subject are its
	// language's (this month's, or last month's just after the turn).
	cat, err := lang.Load(templates.Embedded(), nil, "en")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, code := range codes {
		l, subject := cat.L(code), digests[code].Subject
		if !strings.HasSuffix(subject, l.MonthYear(now)) && !strings.HasSuffix(subject, l.MonthYear(now.AddDate(0, -1, 0))) {
			t.Errorf("digest in %s: subject %q lacks the period %q", code, subject, l.MonthYear(now))
		}
		if !strings.Contains(texts[code], l.T("digest.read_more")) {
			t.Errorf("digest in %s: no %q in the text:\n%s", code, l.T("digest.read_more"), texts[code])
		}
	}
}
