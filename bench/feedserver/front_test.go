package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/testenv"
)

// TestFrontMicroCache runs real nginx with deploy/nginx.conf (templated
// for loopback by frontConfig) in front of an upstream that marks every
// response cacheable for an hour: a fake standing for a route that forgot
// `no-store`, so only the nginx config decides what is cached. The public
// feeds and assets are served from nginx's cache on the second request;
// the pages with tokens or personal data never are.
func TestFrontMicroCache(t *testing.T) {
	nginx := testenv.Need(t, "nginx")
	var mu sync.Mutex
	hits := map[string]int{}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.RequestURI()]++
		mu.Unlock()
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprintf(w, "body of %s\n", r.URL.RequestURI())
	}))
	t.Cleanup(upstream.Close)

	dir := t.TempDir()
	// nginx's workers run as nobody when the tests run as root.
	for _, d := range []string{filepath.Dir(dir), dir} {
		os.Chmod(d, 0o777)
	}
	port := freePort(t)
	conf, err := frontConfig(filepath.Join(testenv.RepoRoot(t), "deploy", "nginx.conf"),
		"127.0.0.1:"+port, upstream.Listener.Addr().String(), dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o777)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx.conf:\n%s\nerror.log:\n%s", conf, b)
		}
	})
	base := "http://127.0.0.1:" + port
	waitUp(t, base)

	get := func(path string) (status int, cache string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Cache-Status")
	}
	tests := []struct {
		name, path string
		cached     bool
	}{
		{"OKFeedAtom", "/feed.atom", true},
		{"OKFeedRSS", "/feed.rss", true},
		{"OKFeedJSONQuery", "/feed.json?tags=wp2&limit=5", true},
		{"OKTagFeed", "/tags/wp2/feed.atom", true},
		{"OKMedia", "/media/2024/photo.jpg", true},
		{"OKEmbedBundle", "/embed/v/0123abcd.js", true},
		{"ErrSubscribe", "/subscribe/confirm?token=secret", false},
		{"ErrSubscribeForm", "/subscribe", false},
		{"ErrUnsubscribe", "/unsubscribe?token=secret", false},
		{"ErrPreferences", "/preferences?token=secret", false},
		{"ErrAPI", "/api/v1/articles", false},
		{"ErrAdmin", "/admin", false},
		{"ErrArticle", "/articles/a001", false},
		{"ErrTagFeedNested", "/tags/a/b/feed.atom", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			get(tc.path)
			status, cache := get(tc.path)
			if status != http.StatusOK {
				t.Fatalf("%s: status %d", tc.path, status)
			}
			// REVALIDATED: over a second passed (a loaded machine), and
			// nginx asked the upstream with the ETag it holds.
			if tc.cached && cache != "HIT" && cache != "REVALIDATED" {
				t.Errorf("%s second request: X-Cache-Status %q, want HIT", tc.path, cache)
			}
			mu.Lock()
			n := hits[tc.path]
			mu.Unlock()
			if !tc.cached && (cache != "" || n != 2) {
				t.Errorf("%s: X-Cache-Status %q, upstream saw %d of 2 requests: it went through a cache", tc.path, cache, n)
			}
		})
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func waitUp(t *testing.T, base string) {
	for range 100 {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("nginx did not come up")
}
