package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/bounce"
	"github.com/herald-news/herald/internal/subscribe"
)

// TestBouncesServe: serve mounts the generic bounce webhook (signed,
// idempotent) and runs the inbound listener on mail.bounce.listen, which
// takes an unsubscribe+ mail and refuses any other recipient.
func TestBouncesServe(t *testing.T) {
	env, _ := testEnv(t)
	env["HERALD_MAIL_BOUNCE_DOMAIN"] = "bounces.example.org"
	env["HERALD_MAIL_BOUNCE_LISTEN"] = "127.0.0.1:0"
	env["HERALD_BOUNCES_WEBHOOKS_GENERIC_SECRET"] = "hook secret"
	env["HERALD_ADMIN_TOKEN"] = "admin-token-0123456789"
	d, base := startTestDaemon(t, env)
	apiDo := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		req.Header.Set("Authorization", "Bearer admin-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ctx := context.Background()
	now := time.Now()
	add := func(email string, nls ...string) *subscribe.Subscriber {
		t.Helper()
		sub, _, err := d.store.UpsertActive(ctx, email, subscribe.Choice{Newsletters: nls}, now)
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}
	post := func(provider, body, secret string) int {
		t.Helper()
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "." + body))
		req, _ := http.NewRequest("POST", base+"/webhooks/bounces/"+provider, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Herald-Timestamp", ts)
		req.Header.Set("X-Herald-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("WebhookComplaint", func(t *testing.T) {
		sub := add("carol@example.net", "monthly")
		body := `{"events": [{"id": "evt-1", "type": "complaint", "email": "Carol@example.net", "time": "2026-12-05T10:00:00Z"}]}`
		if code := post("generic", body, "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("bad signature: %d, want 401", code)
		}
		if code := post("postmark", body, "hook secret"); code != http.StatusNotFound {
			t.Fatalf("unconfigured provider: %d, want 404", code)
		}
		for range 2 { // a resend changes nothing
			if code := post("generic", body, "hook secret"); code != http.StatusOK {
				t.Fatalf("webhook: %d, want 200", code)
			}
		}
		got, err := d.store.GetSubscriber(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != subscribe.StatusUnsubscribed || len(got.Newsletters) != 0 {
			t.Fatalf("after a complaint: %s, %v", got.Status, got.Newsletters)
		}
		list, err := d.store.Suppressions(ctx)
		if err != nil || len(list) != 1 || list[0].Email != "carol@example.net" {
			t.Fatalf("suppressions = %+v, %v", list, err)
		}
		if on, _ := d.store.Suppressed(ctx, d.bounce.handler.hash.All("CAROL@example.net")); !on {
			t.Fatal("not suppressed")
		}
		// The admin API lists and lifts it.
		if code, body := apiDo("GET", "/api/v1/suppressions"); code != 200 || !strings.Contains(body, `"email":"carol@example.net"`) ||
			!strings.Contains(body, `"reason":"complaint"`) {
			t.Fatalf("GET suppressions: %d %s", code, body)
		}
		if code, body := apiDo("DELETE", "/api/v1/suppressions/Carol@example.net"); code != 204 {
			t.Fatalf("DELETE: %d %s", code, body)
		}
		if code, _ := apiDo("DELETE", "/api/v1/suppressions/carol@example.net"); code != 404 {
			t.Fatalf("DELETE twice: %d, want 404", code)
		}
	})

	t.Run("ListenerUnsubscribe", func(t *testing.T) {
		sub := add("dave@example.net", "monthly", "weekly")
		keys, err := tokenKeys(ctx, d.cfg, d.store)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := bounce.NewTokens(keys).Unsubscribe(sub.ID, "weekly", sub.LinkSecret)
		if err != nil {
			t.Fatal(err)
		}
		addr := d.bounce.ln.Addr().String()
		msg := []byte("From: dave@example.net\r\nTo: x\r\nSubject: unsubscribe\r\n\r\nplease\r\n")
		if err := smtp.SendMail(addr, nil, "dave@example.net", []string{"someone@bounces.example.org"}, msg); err == nil ||
			!strings.Contains(err.Error(), "550") {
			t.Fatalf("mail to another recipient: %v, want 550", err)
		}
		if err := smtp.SendMail(addr, nil, "dave@example.net", []string{bounce.UnsubscribeAddress(tok, "bounces.example.org")}, msg); err != nil {
			t.Fatal(err)
		}
		got, err := d.store.GetSubscriber(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != subscribe.StatusActive || fmt.Sprint(got.Newsletters) != "[monthly]" {
			t.Fatalf("after mailto unsubscribe: %s, %v", got.Status, got.Newsletters)
		}
	})
}

// TestSuppressionsCLI: `herald suppressions list` shows a complained
// address, `remove` lifts it (once), and `bounces list` shows kept mail.
func TestSuppressionsCLI(t *testing.T) {
	env, _ := testEnv(t)
	if code, _, stderr := runCLI(t, env, "subscribers", "add", "erin@example.net", "--confirmed"); code != 0 {
		t.Fatalf("add: %s", stderr)
	}
	ctx := context.Background()
	cfg, err := LoadConfig("", env)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tokenKeys(ctx, cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	h := newBounceHandler(st, keys, slog.New(slog.DiscardHandler), nil)
	if err := h.HandleEvent(ctx, bounce.Event{ID: "c1", Source: "generic", Class: bounce.Complaint, Email: "erin@example.net"}); err != nil {
		t.Fatal(err)
	}
	if err := h.Keep(ctx, "k1", []byte("Subject: odd report\r\n\r\nbody"), "no report found"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	t.Run("OK", func(t *testing.T) {
		code, out, stderr := runCLI(t, env, "suppressions", "list")
		_ = stderr
		if code != 0 || !strings.Contains(out, "complaint") || !strings.Contains(out, "erin@example.net") {
			t.Fatalf("list: %d %q %q", code, out, stderr)
		}
		code, out, _ = runCLI(t, env, "bounces", "list")
		if code != 0 || !strings.Contains(out, "k1") || !strings.Contains(out, "Subject: odd report") {
			t.Fatalf("bounces list: %d %q", code, out)
		}
		// Neither a confirmed add nor an import reactivates the address.
		if code, _, stderr := runCLI(t, env, "subscribers", "add", "erin@example.net", "--confirmed"); code == 0 || !strings.Contains(stderr, "suppression list") {
			t.Fatalf("add --confirmed: %d %q", code, stderr)
		}
		csv := filepath.Join(t.TempDir(), "in.csv")
		os.WriteFile(csv, []byte("email,status\nerin@example.net,active\nfrank@example.net,active\n"), 0o644)
		code, out, stderr = runCLI(t, env, "subscribers", "import", csv)
		if !strings.Contains(out+stderr, "2: ") || !strings.Contains(out+stderr, "suppression list") {
			t.Fatalf("import: %d %q %q", code, out, stderr)
		}
		if code, _, stderr := runCLI(t, env, "subscribers", "remove", "frank@example.net"); code != 0 {
			t.Fatalf("frank was not imported: %s", stderr)
		}
		if code, _, stderr := runCLI(t, env, "suppressions", "remove", "Erin@example.net"); code != 0 {
			t.Fatalf("remove: %s", stderr)
		}
		if _, out, _ := runCLI(t, env, "suppressions", "list"); strings.Contains(out, "erin@") {
			t.Fatalf("still listed: %q", out)
		}
	})
	t.Run("ErrNotSuppressed", func(t *testing.T) {
		if code, _, stderr := runCLI(t, env, "suppressions", "remove", "erin@example.net"); code == 0 || !strings.Contains(stderr, "not suppressed") {
			t.Fatalf("remove twice: %d %q", code, stderr)
		}
	})
}

// TestRateWarning: a run warns past 2 % hard bounces or 0.1 % complaints.
func TestRateWarning(t *testing.T) {
	for _, tt := range []struct {
		name string
		rf   digest.RunFeedback
		want string
	}{
		{"OK", digest.RunFeedback{Sent: 1000, Hard: 20, Complaints: 1}, ""},
		{"OKNothingSent", digest.RunFeedback{}, ""},
		{"ErrHard", digest.RunFeedback{Sent: 1000, Hard: 21}, "hard-bounce rate 2.10% over 2%"},
		{"ErrComplaints", digest.RunFeedback{Sent: 1000, Complaints: 2}, "complaint rate 0.20% over 0.1%"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := rateWarning(tt.rf); got != tt.want {
				t.Fatalf("rateWarning = %q, want %q", got, tt.want)
			}
		})
	}
}
