package main

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/content"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/testenv"
)

// TestInstancesShareOneStore runs two daemons in-process on one store, as
// two instances behind a load balancer, each with a content folder of its
// own: a write through one reaches the other's feed (same bytes and ETag),
// hubs get one ping per change, the subscribe rate limit is shared, and
// only one instance syncs its folder. SQLite (two processes on one file)
// hears writes by polling, PostgreSQL by LISTEN/NOTIFY.
func TestInstancesShareOneStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  func(t *testing.T, dir string) map[string]string
	}{
		{"SQLite", func(t *testing.T, dir string) map[string]string {
			return map[string]string{"HERALD_STORE_DSN": filepath.Join(dir, "h.db")}
		}},
		{"PostgreSQL", func(t *testing.T, dir string) map[string]string {
			return map[string]string{"HERALD_STORE_DRIVER": "postgres", "HERALD_STORE_DSN": testenv.PostgresDSN(t)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testInstances(t, tc.env(t, t.TempDir()))
		})
	}
}

func testInstances(t *testing.T, storeEnv map[string]string) {
	ctx := context.Background()
	var mu sync.Mutex
	pings := map[string]int{} // per topic
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		mu.Lock()
		pings[r.PostForm.Get("hub.topic")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hub.Close()
	pinged := func(topic string) int {
		mu.Lock()
		defer mu.Unlock()
		return pings[topic]
	}

	start := func(file string, body []byte) (*daemon, string) {
		t.Helper()
		dir := t.TempDir()
		env := maps.Clone(storeEnv)
		maps.Copy(env, map[string]string{
			"HERALD_CONTENT_DIR":               filepath.Join(dir, "content"),
			"HERALD_CONTENT_WATCH":             "false",
			"HERALD_MAIL_OUTBOX_DIR":           filepath.Join(dir, "outbox"),
			"HERALD_HTTP_LISTEN":               "127.0.0.1:0",
			"HERALD_SITE_BASE_URL":             "https://news.example.org",
			"HERALD_WEBSUB_HUBS":               hub.URL,
			"HERALD_ADMIN_TOKEN":               "cms-token-0123456789",
			"HERALD_SUBSCRIBE_RATE_PER_MINUTE": "3",
		})
		if err := os.MkdirAll(env["HERALD_CONTENT_DIR"], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(env["HERALD_CONTENT_DIR"], file), body, 0o644); err != nil {
			t.Fatal(err)
		}
		return startTestDaemon(t, env)
	}
	_, baseA := start("first.md", articleFile("First news", "2026-10-01"))
	b, baseB := start("only-b.md", articleFile("Only in B", "2026-10-02"))

	t.Run("OneSyncsTheFolder", func(t *testing.T) {
		rep, err := b.syncer.SyncLogged(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Skipped != content.SkipLeased {
			t.Fatalf("B synced its folder while A holds the lease: %v", rep)
		}
		if _, err := b.store.GetArticle(ctx, "only-b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("B's file was imported: %v", err)
		}
		if got, err := b.store.GetArticle(ctx, "first"); err != nil || got.Removed {
			t.Fatalf("A's article, as B sees it: %+v %v", got, err)
		}
	})

	feed := func(base string) (string, string) {
		t.Helper()
		resp, err := http.Get(base + "/feed.atom")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(body), resp.Header.Get("ETag")
	}
	post := func(base, slug, title string) {
		t.Helper()
		req, err := http.NewRequest("POST", base+"/api/v1/articles", strings.NewReader(
			`{"slug":"`+slug+`","title":"`+title+`","date":"2026-10-05T09:00:00Z","body":"From the CMS."}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer cms-token-0123456789")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %s", slug, resp.Status)
		}
	}

	const topic = "https://news.example.org/feed.atom"
	for i, w := range []struct{ base, slug, title string }{
		{baseA, "cms-one", "One from the CMS"},
		{baseB, "cms-two", "Two from the CMS"},
		{baseA, "cms-three", "Three from the CMS"},
	} {
		t.Run("WriteReachesBoth/"+w.slug, func(t *testing.T) {
			post(w.base, w.slug, w.title)
			eventually(t, 2*time.Second, "the write is in both instances' feeds, with the same bytes and ETag", func() bool {
				ba, ea := feed(baseA)
				bb, eb := feed(baseB)
				return strings.Contains(ba, w.title) && ba == bb && ea == eb && ea != ""
			})
			eventually(t, 5*time.Second, "the hub is pinged", func() bool { return pinged(topic) > i })
			// Each instance pinged (if at all) in the refresh that put the
			// change in its feed, before the next change: a second ping
			// for an earlier change would be counted by now.
			if n := pinged(topic); n != i+1 {
				t.Fatalf("%d pings for %d changes, want one per change", n, i+1)
			}
		})
	}

	t.Run("RateLimitShared", func(t *testing.T) {
		codes := []int{}
		for i, base := range []string{baseA, baseB, baseA, baseB} {
			resp, err := http.PostForm(base+"/subscribe", url.Values{"email": {"reader" + string(rune('a'+i)) + "@example.org"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
		if codes[0] != 200 || codes[1] != 200 || codes[2] != 200 || codes[3] != http.StatusTooManyRequests {
			t.Fatalf("statuses %v: want 3 allowed across both instances, the 4th refused", codes)
		}
	})
}
