package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/testenv"
)

// TestStoreCopy moves an installation filled through the real commands
// (import, subscribers add and import, a digest sent to the outbox, an
// erasure) from SQLite to PostgreSQL with `herald store copy`, as the
// README's "Moving to PostgreSQL" does, and checks that readers and
// subscribers cannot tell: the same feed bytes and ETags, subscribers and
// runs, links mailed before the move still verify, ids are not reused, and
// a second copy is refused.
func TestStoreCopy(t *testing.T) {
	dir := t.TempDir()
	cfg := digestConfig(t, dir, "")
	// A fixed address: by default links follow serve's (random) port.
	const base = "https://news.example.org"
	sqliteEnv := map[string]string{"HERALD_SITE_BASE_URL": base}
	examples := filepath.Join("..", "..", "examples", "articles")
	cli := func(t *testing.T, env map[string]string, args ...string) string {
		t.Helper()
		code, out, errs := runCLI(t, env, append([]string{"--config", cfg}, args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", args, code, out, errs)
		}
		return out
	}
	cli(t, sqliteEnv, "import", examples)
	cli(t, sqliteEnv, "subscribers", "add", "anna@example.org", "--name", "Anna", "--newsletter", "monthly", "--confirmed")
	csv := filepath.Join(dir, "subs.csv")
	os.WriteFile(csv, []byte("email,name,newsletters,tags,status\nlars@example.net,Lars,monthly,wp2,active\nmia@example.net,,monthly,,pending\n"), 0o644)
	cli(t, sqliteEnv, "subscribers", "import", "--confirmed", csv)
	// The newest subscriber is erased: only SQLite's id sequence remembers
	// its id, which must not be handed out again.
	cli(t, sqliteEnv, "subscribers", "add", "gone@example.org", "--newsletter", "monthly", "--confirmed")
	erased := subscriberIDs(t, cli(t, sqliteEnv, "subscribers", "list", "--json"))["gone@example.org"]
	if out := cli(t, sqliteEnv, "digest", "send", "--newsletter", "monthly", "--now"); !strings.Contains(out, "to 3 recipients") {
		t.Fatalf("send: %s", out)
	}
	unsub := unsubscribeLink(t, dir, "anna@example.org")
	cli(t, sqliteEnv, "subscribers", "erase", "gone@example.org")

	forged := strings.Replace(unsub, "token=", "token=A", 1)
	pages := []string{"/feed.atom", "/feed.rss", "/feed.json", "/tags/wp2/feed.atom", unsub, forged}
	before := servePages(t, cfg, sqliteEnv, pages)
	if before[unsub].status != 200 || before[forged].status != 400 {
		t.Fatalf("before the move: the unsubscribe link %d, a forged one %d; want 200, 400", before[unsub].status, before[forged].status)
	}
	subsBefore := cli(t, sqliteEnv, "subscribers", "list", "--json")
	runsBefore := cli(t, sqliteEnv, "digest", "status", "--run", "1")

	dsn := testenv.PostgresDSN(t)
	code, out, errs := runCLI(t, sqliteEnv, "--config", cfg, "store", "copy", "--to", dsn)
	if code != 0 || strings.Contains(out, "MISMATCH") || !strings.Contains(out, "digest_deliveries") || !strings.Contains(out, "copied ") {
		t.Fatalf("store copy: exit %d\n%s%s", code, out, errs)
	}
	t.Logf("store copy:\n%s%s", out, errs)
	if !strings.Contains(errs, "copy: articles: 8 rows") {
		t.Errorf("no progress on stderr: %q", errs)
	}

	pgEnv := map[string]string{"HERALD_SITE_BASE_URL": base, "HERALD_STORE_DRIVER": "postgres", "HERALD_STORE_DSN": dsn}
	t.Run("OKFeedsAndLinks", func(t *testing.T) {
		after := servePages(t, cfg, pgEnv, pages)
		for _, p := range pages {
			b, a := before[p], after[p]
			if p == forged { // an error page names its request
				a.body, b.body = "", ""
			}
			if a.status != b.status || a.etag != b.etag || a.body != b.body {
				t.Errorf("%s: after the move %d %s (%d bytes), before %d %s (%d bytes)", p, a.status, a.etag, len(a.body), b.status, b.etag, len(b.body))
			}
		}
		for _, f := range []string{"atom", "rss", "json"} {
			if a, b := cli(t, pgEnv, "feed", "--format", f), cli(t, sqliteEnv, "feed", "--format", f); a != b {
				t.Errorf("herald feed --format %s differs after the move", f)
			}
		}
	})
	t.Run("OKSubscribersAndRuns", func(t *testing.T) {
		if got := cli(t, pgEnv, "subscribers", "list", "--json"); got != subsBefore {
			t.Errorf("subscribers after the move:\n%s\nbefore:\n%s", got, subsBefore)
		}
		if got := cli(t, pgEnv, "digest", "status", "--run", "1"); got != runsBefore {
			t.Errorf("run 1 after the move:\n%s\nbefore:\n%s", got, runsBefore)
		}
	})
	t.Run("OKNewIDsAboveOld", func(t *testing.T) {
		cli(t, pgEnv, "subscribers", "add", "new@example.org", "--newsletter", "monthly", "--confirmed")
		var top int64
		for _, id := range subscriberIDs(t, subsBefore) {
			top = max(top, id)
		}
		if top >= erased {
			t.Fatalf("the erased subscriber %d is not the newest (%d): the test proves nothing", erased, top)
		}
		if id := subscriberIDs(t, cli(t, pgEnv, "subscribers", "list", "--json"))["new@example.org"]; id <= erased {
			t.Errorf("new subscriber id %d, want above the erased subscriber's %d", id, erased)
		}
	})
	t.Run("ErrNotEmpty", func(t *testing.T) {
		code, _, errs := runCLI(t, sqliteEnv, "--config", cfg, "store", "copy", "--to", dsn)
		if code != 1 || !strings.Contains(errs, "the target database is not empty: table ") {
			t.Errorf("second copy: exit %d, stderr %q", code, errs)
		}
	})
	t.Run("ErrUsage", func(t *testing.T) {
		for _, args := range [][]string{{"store"}, {"store", "copy"}, {"store", "copy", "--to", "data/h.db"}, {"store", "move"}} {
			if code, _, _ := runCLI(t, sqliteEnv, append([]string{"--config", cfg}, args...)...); code != 2 {
				t.Errorf("%s: exit %d, want 2", args, code)
			}
		}
		code, _, errs := runCLI(t, pgEnv, "--config", cfg, "store", "copy", "--to", dsn)
		if code != 1 || !strings.Contains(errs, "copy reads a SQLite store") {
			t.Errorf("copy from postgres: exit %d, stderr %q", code, errs)
		}
	})
}

// subscriberIDs maps email to id in the output of subscribers list --json.
func subscriberIDs(t *testing.T, list string) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		var s struct {
			ID    int64
			Email string
		}
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		ids[s.Email] = s.ID
	}
	return ids
}

// unsubscribeLink is the List-Unsubscribe URL (path and query) of the
// digest mailed to email.
func unsubscribeLink(t *testing.T, dir, email string) string {
	t.Helper()
	emls, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	for _, p := range emls {
		raw, _ := os.ReadFile(p)
		m := parseMail(t, raw)
		if !strings.Contains(m.Header.Get("To"), email) {
			continue
		}
		return pathOf(t, strings.Trim(m.Header.Get("List-Unsubscribe"), "<>"))
	}
	t.Fatalf("no digest to %s in the outbox", email)
	return ""
}

type page struct {
	status     int
	etag, body string
}

// servePages starts serve on the config (env overriding it), GETs each
// path, and stops it.
func servePages(t *testing.T, cfgPath string, env map[string]string, paths []string) map[string]page {
	t.Helper()
	vars := map[string]string{"HERALD_HTTP_LISTEN": "127.0.0.1:0"}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := LoadConfig(cfgPath, vars)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got := map[string]page{}
	for _, p := range paths {
		resp, err := http.Get("http://" + d.Addr() + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[p] = page{resp.StatusCode, resp.Header.Get("ETag"), string(b)}
	}
	return got
}
