package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/mail/mailtest"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/internal/testenv"
)

// TestBouncesThroughPostfix: a digest goes out through a real Postfix;
// the DSNs Postfix itself writes for an error: transport and for a relay
// that refuses after DATA reach serve's inbound listener at the VERP
// address, so those subscribers end up bounced and suppressed while the
// others are delivered; an ARF complaint to a delivered subscriber's VERP
// address unsubscribes and suppresses them.
func TestBouncesThroughPostfix(t *testing.T) {
	inbox := mailtest.NewServer(t, mailtest.Options{})
	// A server that takes the message and then refuses the mailbox: an
	// unknown user (5.1.1) bounces at once, other 5xx only at the
	// third (digest.HardBounceLimit).
	refusing := mailtest.NewServer(t, mailtest.Options{
		OnData: func(mailtest.Message) *mailtest.Reply {
			return &mailtest.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such mailbox"}
		},
	})
	// Postfix needs the listener's address before serve starts: reserve a
	// port and hand it to serve.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bounceAddr := ln.Addr().String()
	ln.Close()
	pf := testenv.Postfix(t, testenv.PostfixOptions{
		Relay: map[string]string{
			"example.test": inbox.Addr,
			"refuse.test":  refusing.Addr,
			"bounce.test":  bounceAddr,
		},
		Fail: map[string]string{"gone@example.test": "5.1.1 no such user"},
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postfix logs:\n%s", pf.Logs())
		}
	})
	host, port, _ := net.SplitHostPort(pf.Addr())

	dir := t.TempDir()
	cfgPath := digestConfig(t, dir, "")
	// digestConfig's mail line names the outbox; the transport and bounce
	// settings come from the environment.
	env := map[string]string{
		"HERALD_HTTP_LISTEN":        "127.0.0.1:0",
		"HERALD_MAIL_TRANSPORT":     "smtp",
		"HERALD_MAIL_SMTP_HOST":     host,
		"HERALD_MAIL_SMTP_PORT":     port,
		"HERALD_MAIL_SMTP_TLS":      "none",
		"HERALD_MAIL_BOUNCE_DOMAIN": "bounce.test",
		"HERALD_MAIL_BOUNCE_LISTEN": bounceAddr,
		"HERALD_ADMIN_TOKEN":        "admin-token-0123456789",
	}
	args := func(a ...string) []string { return append([]string{"--config", cfgPath}, a...) }
	if code, _, errs := runCLI(t, env, args("import", filepath.Join("..", "..", "examples", "articles"))...); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	cfg, err := LoadConfig(cfgPath, env)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := startDaemon(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })

	ok := []string{"ann@example.test", "bob@example.test", "cat@example.test"}
	failing := []string{"gone@example.test", "who@refuse.test"}
	ids := map[string]int64{}
	for _, email := range append(append([]string{}, ok...), failing...) {
		sub, _, err := d.store.UpsertActive(ctx, email, subscribe.Choice{Newsletters: []string{"monthly"}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids[email] = sub.ID
	}

	if code, out, errs := runCLI(t, env, args("digest", "send", "--newsletter", "monthly", "--now")...); code != 0 {
		t.Fatalf("digest send: %d\n%s\n%s", code, out, errs)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "h.db")+"?_pragma=busy_timeout(10000)&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	delivery := func(email string) string {
		var s string
		db.QueryRow(`SELECT status FROM digest_deliveries WHERE subscriber_id = ? ORDER BY run_id DESC LIMIT 1`, ids[email]).Scan(&s)
		return s
	}
	status := func(email string) subscribe.Status {
		sub, err := d.store.GetSubscriber(ctx, ids[email])
		if err != nil {
			t.Fatal(err)
		}
		return sub.Status
	}
	suppressed := func(email string) bool {
		on, err := d.store.Suppressed(ctx, d.bounce.handler.hash.All(email))
		if err != nil {
			t.Fatal(err)
		}
		return on
	}

	t.Run("OK", func(t *testing.T) {
		msgs := inbox.WaitMessages(len(ok), 30*time.Second)
		got := map[string]string{} // recipient: envelope sender
		for _, m := range msgs {
			for _, to := range m.To {
				got[to] = m.From
			}
		}
		for _, email := range ok {
			if !strings.HasPrefix(got[email], "bounces+") || !strings.HasSuffix(got[email], "@bounce.test") {
				t.Errorf("%s: arrived from %q, want a VERP address", email, got[email])
			}
			if s := delivery(email); s != "sent" {
				t.Errorf("%s: delivery %q, want sent", email, s)
			}
		}
	})
	t.Run("ErrBounced", func(t *testing.T) {
		deadline := time.Now().Add(60 * time.Second)
		for _, email := range failing {
			for status(email) != subscribe.StatusBounced || delivery(email) != "bounced" || !suppressed(email) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: subscriber %s, delivery %q, suppressed %v", email, status(email), delivery(email), suppressed(email))
				}
				pf.Flush(t)
				time.Sleep(200 * time.Millisecond)
			}
		}
		for _, email := range ok {
			if s := status(email); s != subscribe.StatusActive || suppressed(email) {
				t.Errorf("%s: %s, suppressed %v after the bounces", email, s, suppressed(email))
			}
		}
		_, out, _ := runCLI(t, env, args("suppressions", "list")...)
		for _, email := range failing {
			if !strings.Contains(out, email) {
				t.Errorf("suppressions list lacks %s:\n%s", email, out)
			}
		}
	})
	t.Run("Complaint", func(t *testing.T) {
		var orig mailtest.Message
		for _, m := range inbox.Messages() {
			if len(m.To) == 1 && m.To[0] == ok[0] {
				orig = m
			}
		}
		if orig.From == "" {
			t.Fatalf("no message for %s at the sink", ok[0])
		}
		head, _, _ := strings.Cut(strings.ReplaceAll(string(orig.Data), "\r\n", "\n"), "\n\n")
		head = strings.ReplaceAll(head, "\n", "\r\n")
		arf := fmt.Sprintf("From: abuse@isp.test\r\nTo: %s\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"+
			"Content-Type: multipart/report; report-type=feedback-report; boundary=\"b1\"\r\n\r\n"+
			"--b1\r\nContent-Type: text/plain\r\n\r\nA user marked this message as spam.\r\n"+
			"--b1\r\nContent-Type: message/feedback-report\r\n\r\n"+
			"Feedback-Type: abuse\r\nUser-Agent: isp-fbl/1.0\r\nVersion: 1\r\nOriginal-Mail-From: <%s>\r\nOriginal-Rcpt-To: <%s>\r\n\r\n"+
			"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n%s\r\n\r\n--b1--\r\n", orig.From, orig.From, ok[0], head)
		if err := smtp.SendMail(d.bounce.ln.Addr().String(), nil, "", []string{orig.From}, []byte(arf)); err != nil {
			t.Fatalf("complaint to %s: %v", orig.From, err)
		}
		if s := status(ok[0]); s != subscribe.StatusUnsubscribed || !suppressed(ok[0]) {
			t.Fatalf("%s after a complaint: %s, suppressed %v", ok[0], s, suppressed(ok[0]))
		}
		if s := status(ok[1]); s != subscribe.StatusActive || suppressed(ok[1]) {
			t.Errorf("%s: %s, suppressed %v", ok[1], s, suppressed(ok[1]))
		}
	})
	// A suppressed address that subscribes again and confirms, in person,
	// is mailed again: only the confirmation lifts the suppression.
	t.Run("ConfirmLiftsSuppression", func(t *testing.T) {
		before := len(inbox.Messages())
		resp, err := http.PostForm(fmt.Sprintf("http://%s/subscribe", d.Addr()), url.Values{"email": {ok[0]}, "newsletter": {"monthly"}})
		if err != nil || resp.StatusCode >= 400 {
			t.Fatalf("subscribe again: %v %v", resp, err)
		}
		resp.Body.Close()
		if !suppressed(ok[0]) {
			t.Fatalf("%s: the request alone lifted the suppression", ok[0])
		}
		var link string
		deadline := time.Now().Add(60 * time.Second)
		for link == "" {
			for _, m := range inbox.Messages()[before:] {
				if len(m.To) == 1 && m.To[0] == ok[0] {
					link, _ = subscribetest.Link(parseMail(t, m.Data).Text, "/subscribe/confirm")
				}
			}
			if link == "" {
				if time.Now().After(deadline) {
					t.Fatalf("no confirmation mail for %s", ok[0])
				}
				pf.Flush(t)
				time.Sleep(200 * time.Millisecond)
			}
		}
		resp, err = http.PostForm(fmt.Sprintf("http://%s/subscribe/confirm", d.Addr()), url.Values{"token": {subscribetest.Token(link)}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("confirm: %v %v", resp, err)
		}
		resp.Body.Close()
		if s := status(ok[0]); s != subscribe.StatusActive || suppressed(ok[0]) {
			t.Fatalf("%s after confirming: %s, suppressed %v", ok[0], s, suppressed(ok[0]))
		}
	})
	// The API's run view carries the run's rates (digest status shows them too).
	t.Run("APIFeedback", func(t *testing.T) {
		var runID int64
		if err := db.QueryRow(`SELECT MAX(id) FROM digest_runs`).Scan(&runID); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/api/v1/runs/%d", d.Addr(), runID), nil)
		req.Header.Set("Authorization", "Bearer admin-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var run struct {
			Feedback *struct {
				Hard          int     `json:"hard"`
				Complaints    int     `json:"complaints"`
				BounceRate    float64 `json:"bounce_rate"`
				ComplaintRate float64 `json:"complaint_rate"`
			} `json:"feedback"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&run); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET run: %d, %v", resp.StatusCode, err)
		}
		if f := run.Feedback; f == nil || f.Hard != 2 || f.Complaints != 1 || f.BounceRate != 0.4 || f.ComplaintRate != 0.2 {
			t.Fatalf("feedback = %+v, want 2 hard (0.4) and 1 complaint (0.2) of 5 sent", f)
		}
	})
	// Rates past 2 % hard bounces or 0.1 % complaints are a warning on
	// /readyz, not a failure: the instance stays in the load balancer.
	t.Run("ReadyWarning", func(t *testing.T) {
		var runID int64
		if err := db.QueryRow(`SELECT MAX(id) FROM digest_runs`).Scan(&runID); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(fmt.Sprintf("http://%s/readyz", d.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ready struct {
			Status   string            `json:"status"`
			Warnings map[string]string `json:"warnings"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&ready); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || ready.Status != "ok" || ready.Warnings[fmt.Sprintf("run %d", runID)] == "" {
			t.Fatalf("/readyz %d %+v: want ok with a warning for run %d", resp.StatusCode, ready, runID)
		}
	})
}
