package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
)

// TestOldLinksAfterEraseAndRestore runs serve with mail to the outbox and
// the CLI's erase, backup and restore: the links mailed to a person who
// was erased, or who is not in the restored backup, are refused and never
// reach the person who subscribes next.
func TestOldLinksAfterEraseAndRestore(t *testing.T) {
	env, dir := testEnv(t)
	env["HERALD_CONTENT_WATCH"] = "false"
	env["HERALD_SITE_BASE_URL"] = "https://news.example.org"
	ctx := context.Background()
	start := func(t *testing.T) (*daemon, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		env["HERALD_HTTP_LISTEN"] = ln.Addr().String()
		ln.Close()
		return startTestDaemon(t, env)
	}
	d, srv := start(t)
	mails := 0
	signUp := func(t *testing.T, email string) (confirm string) {
		t.Helper()
		resp, err := http.PostForm(srv+"/subscribe", url.Values{"email": {email}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("subscribe %s: %v %v", email, resp, err)
		}
		resp.Body.Close()
		mails++
		link, err := subscribetest.Link(readOutbox(t, dir, mails).Text, "/subscribe/confirm")
		if err != nil {
			t.Fatal(err)
		}
		return link
	}
	// links subscribes and confirms email: the links of both mails.
	links := func(t *testing.T, email string) []string {
		t.Helper()
		confirm := signUp(t, email)
		resp, err := http.PostForm(srv+pathOf(t, confirm), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("confirm %s: %v %v", email, resp, err)
		}
		resp.Body.Close()
		mails++
		w := readOutbox(t, dir, mails)
		prefs, err := subscribetest.Link(w.Text, "/preferences")
		if err != nil {
			t.Fatal(err)
		}
		return []string{confirm, strings.Trim(w.Header.Get("List-Unsubscribe"), "<>"), prefs}
	}
	// refused wants every link refused, GET and POST, and victim untouched.
	refused := func(t *testing.T, links []string, victim string) {
		t.Helper()
		before, err := d.store.SubscriberByEmail(ctx, victim)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			resp, err := http.Get(srv + pathOf(t, l))
			if err != nil || resp.StatusCode != 400 {
				t.Errorf("GET %s: %v %v", pathOf(t, l), resp.StatusCode, err)
			}
			resp.Body.Close()
			for _, body := range []string{"List-Unsubscribe=One-Click", "scope=all", "newsletter=weekly&action=save"} {
				resp, err := http.Post(srv+pathOf(t, l), "application/x-www-form-urlencoded", strings.NewReader(body))
				if err != nil || resp.StatusCode != 400 {
					t.Errorf("POST %s %s: %v %v", pathOf(t, l), body, resp.StatusCode, err)
				}
				resp.Body.Close()
			}
		}
		after, _ := d.store.SubscriberByEmail(ctx, victim)
		if after.Status != before.Status || strings.Join(after.Newsletters, ",") != strings.Join(before.Newsletters, ",") {
			t.Errorf("%s changed: %+v, was %+v", victim, after, before)
		}
	}

	links(t, "kept@example.org")
	bak := filepath.Join(dir, "backup.db")
	if code, _, stderr := runCLI(t, env, "backup", bak); code != 0 {
		t.Fatalf("backup: %d %s", code, stderr)
	}

	t.Run("Erase", func(t *testing.T) {
		erased := links(t, "erased@example.org")
		if code, _, stderr := runCLI(t, env, "subscribers", "erase", "erased@example.org"); code != 0 {
			t.Fatalf("erase: %d %s", code, stderr)
		}
		signUp(t, "next@example.org")
		refused(t, erased, "next@example.org")
	})
	t.Run("Restore", func(t *testing.T) {
		lost := links(t, "lost@example.org")
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := runCLI(t, env, "restore", bak); code != 0 {
			t.Fatalf("restore: %d %s", code, stderr)
		}
		d, srv = start(t)
		signUp(t, "after@example.org")
		sub, err := d.store.SubscriberByEmail(ctx, "after@example.org")
		if err != nil || sub.Status != subscribe.StatusPending {
			t.Fatalf("after restore: %+v %v", sub, err)
		}
		refused(t, lost, "after@example.org")
	})
}
