package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func startTestDaemon(t *testing.T, env map[string]string) (*daemon, string) {
	t.Helper()
	cfg, err := LoadConfig("", env)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, "http://" + d.Addr()
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually polls cond every 100ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func articleFile(title, date string) []byte {
	return []byte(fmt.Sprintf("---\ntitle: %s\ndate: %s\ntags: [WP2]\n---\nBody of %s.\n", title, date, title))
}

// TestServe runs the daemon in-process against a real store and content
// folder: the feed equals `herald feed`, and the daemon follows changes
// from the folder, from a separate import, and from the clock.
func TestServe(t *testing.T) {
	var mu sync.Mutex
	var pings []url.Values
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		pings = append(pings, r.PostForm)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hub.Close()

	env, dir := testEnv(t)
	env["HERALD_WEBSUB_HUBS"] = hub.URL
	env["HERALD_SITE_BASE_URL"] = "https://news.example.org"
	content := env["HERALD_CONTENT_DIR"]
	os.WriteFile(filepath.Join(content, "2026-10-01-first.md"), articleFile("First news", "2026-10-01"), 0o644)
	_, base := startTestDaemon(t, env)

	code, served := get(t, base+"/feed.atom")
	if code != 200 || !strings.Contains(served, "First news") || !strings.Contains(served, `<link href="`+hub.URL+`" rel="hub">`) {
		t.Fatalf("feed: %d %s", code, served)
	}
	_, cli, stderr := runCLI(t, env, "feed", "--format", "atom")
	if cli != served {
		t.Errorf("herald feed differs from the served feed (stderr %q)", stderr)
	}
	_, cliTag, _ := runCLI(t, env, "feed", "--format", "json", "--tag", "WP2", "--limit", "5")
	_, servedTag := get(t, base+"/tags/wp2/feed.json?limit=5")
	if cliTag != servedTag {
		t.Errorf("tag feed: CLI and server differ:\n%s\n%s", cliTag, servedTag)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("readyz: %d %s", code, body)
	}

	t.Run("FolderChange", func(t *testing.T) {
		os.WriteFile(filepath.Join(content, "2026-10-02-second.md"), articleFile("Second news", "2026-10-02"), 0o644)
		eventually(t, 5*time.Second, "a new file in the content folder reaches the feed", func() bool {
			_, b := get(t, base+"/feed.atom")
			return strings.Contains(b, "Second news")
		})
		os.Remove(filepath.Join(content, "2026-10-02-second.md"))
		eventually(t, 5*time.Second, "a removed file leaves the feed", func() bool {
			_, b := get(t, base+"/feed.atom")
			return !strings.Contains(b, "Second news")
		})
	})
	t.Run("SeparateImport", func(t *testing.T) {
		src := filepath.Join(dir, "elsewhere")
		os.MkdirAll(src, 0o755)
		os.WriteFile(filepath.Join(src, "third.md"), articleFile("Third news from Århus", "2026-10-03"), 0o644)
		if code, out, errOut := runCLI(t, env, "import", src); code != 0 {
			t.Fatalf("import: %d %s %s", code, out, errOut)
		}
		start := time.Now()
		eventually(t, 3*time.Second, "a separate import reaches the feed", func() bool {
			_, b := get(t, base+"/feed.json")
			return strings.Contains(b, "Third news from Århus")
		})
		t.Logf("import visible after %v", time.Since(start))
	})
	t.Run("FutureDatedAppears", func(t *testing.T) {
		when := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)
		os.WriteFile(filepath.Join(content, "later.md"), articleFile("Embargoed news", when), 0o644)
		time.Sleep(700 * time.Millisecond)
		if _, b := get(t, base+"/feed.atom"); strings.Contains(b, "Embargoed news") {
			t.Fatal("future-dated article served early")
		}
		eventually(t, 6*time.Second, "a future-dated article appears when its time comes", func() bool {
			_, b := get(t, base+"/feed.atom")
			return strings.Contains(b, "Embargoed news")
		})
	})
	t.Run("WebSubPings", func(t *testing.T) {
		eventually(t, 5*time.Second, "the hub is pinged for the site feed", func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range pings {
				if p.Get("hub.mode") == "publish" && p.Get("hub.url") == "https://news.example.org/feed.atom" {
					return true
				}
			}
			return false
		})
	})
}

// TestSIGHUPReloads: SIGHUP re-reads templates and rescans the content
// folder while the server keeps serving on the same listener.
func TestSIGHUPReloads(t *testing.T) {
	env, dir := testEnv(t)
	tpl := filepath.Join(dir, "templates", "pages")
	os.MkdirAll(tpl, 0o755)
	page := func(word string) {
		os.WriteFile(filepath.Join(tpl, "error.html"), []byte(`{{define "content"}}<h1>`+word+`</h1>{{end}}`), 0o644)
	}
	page("Before")
	env["HERALD_TEMPLATES_DIR"] = filepath.Join(dir, "templates")
	env["HERALD_CONTENT_WATCH"] = "false" // only the SIGHUP rescan may pick the file up
	_, base := startTestDaemon(t, env)
	client := &http.Client{} // one keep-alive connection across the reload
	fetch := func(path string) string {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if !strings.Contains(fetch("/nowhere"), "<h1>Before</h1>") {
		t.Fatal("overlay template not used")
	}
	page("After")
	os.WriteFile(filepath.Join(env["HERALD_CONTENT_DIR"], "hup.md"), articleFile("Rescanned on SIGHUP", "2026-10-05"), 0o644)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "templates reloaded and the folder rescanned", func() bool {
		return strings.Contains(fetch("/nowhere"), "<h1>After</h1>") && strings.Contains(fetch("/feed.atom"), "Rescanned on SIGHUP")
	})
}
