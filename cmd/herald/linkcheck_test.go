package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/internal/testenv"
)

// TestJudgeMailpitLinkCheck: on a live run (serve, mail through Mailpit's
// SMTP), Mailpit's link-check finds every Herald link of the confirmation,
// the welcome, a digest and a test send answering 200.
func TestJudgeMailpitLinkCheck(t *testing.T) {
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
	if code, _, errs := runCLI(t, env, "import", examples); code != 0 {
		t.Fatal(errs)
	}
	cfg, err := LoadConfig("", env)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	srv := "http://" + addr

	type msg struct {
		ID, Subject string
		Snippet     string
	}
	wait := func(n int) msg {
		t.Helper()
		var list struct{ Messages []msg }
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			mp.GetJSON(t, "/messages", &list)
			if len(list.Messages) >= n || time.Now().After(deadline) {
				break
			}
		}
		if len(list.Messages) < n {
			t.Fatalf("mailpit holds %d messages, want %d", len(list.Messages), n)
		}
		return list.Messages[0]
	}
	check := func(kind string, m msg) {
		t.Helper()
		lc := mp.LinkCheck(t, m.ID)
		herald := 0
		for _, l := range lc.Links {
			if !strings.HasPrefix(l.URL, srv) {
				continue
			}
			herald++
			if l.StatusCode != http.StatusOK {
				t.Errorf("%s (%s): %s answers %d %s", kind, m.Subject, l.URL, l.StatusCode, l.Status)
			}
		}
		t.Logf("%s: %d Herald links, all checked", kind, herald)
		if herald < 2 {
			t.Errorf("%s: only %d Herald links", kind, herald)
		}
	}

	resp, err := http.PostForm(srv+"/subscribe", url.Values{"email": {"asa@example.org"}, "name": {"Åsa"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	confirm := wait(1)
	check("confirmation", confirm)
	var raw struct{ Text string }
	mp.GetJSON(t, "/message/"+confirm.ID, &raw)
	link, err := subscribetest.Link(raw.Text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = http.PostForm(srv+"/subscribe/confirm", url.Values{"token": {subscribetest.Token(link)}}); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	check("welcome", wait(2))
	if code, _, errs := runCLI(t, env, "digest", "send", "--newsletter", "monthly", "--now"); code != 0 {
		t.Fatal(errs)
	}
	check("digest", wait(3))
	if code, _, errs := runCLI(t, env, "digest", "send", "--newsletter", "monthly", "--test-to", "editor@example.org"); code != 0 {
		t.Fatal(errs)
	}
	check("test send", wait(4))
}
