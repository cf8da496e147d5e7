package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

// accessServer is the web server with the real feed handler over a real
// store, the access log on (text or JSON; off with out nil) and trusted
// proxies.
func accessServer(t testing.TB, out io.Writer, json bool, trusted ...netip.Prefix) (*web.AccessLog, http.Handler) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for i := range 5 {
		a := &article.Article{Slug: fmt.Sprintf("a%d", i), Title: fmt.Sprintf("Article %d", i), BodyHTML: "<p>Body</p>",
			Published: now.Add(-time.Duration(i+1) * time.Hour), Source: article.SourceAPI,
			Tags: []article.Tag{{Name: "WP2", Slug: "wp2"}}}
		if _, err := st.UpsertArticle(ctx, a, now); err != nil {
			t.Fatal(err)
		}
	}
	fh := feed.NewHandler(st, feed.Site{Title: "Herald Test", BaseURL: "https://news.example.org", Language: "en"},
		feed.Options{Now: func() time.Time { return now }})
	if _, err := fh.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var al *web.AccessLog // nil: the access log is off
	if out != nil {
		al = web.NewAccessLog(out, json)
	}
	s, err := web.New(web.Config{
		Site:  web.Site{Title: "Herald Test", BaseURL: "https://news.example.org", Language: "en"},
		Store: st, Feeds: accessFeeds{fh}, Templates: templates.FS(""), Now: func() time.Time { return now },
		AccessLog: al, TrustedProxies: trusted,
	})
	if err != nil {
		t.Fatal(err)
	}
	return al, s
}

type accessFeeds struct{ h *feed.Handler }

func (f accessFeeds) SiteFeed(format string) http.Handler { return f.h.Site(feed.Format(format)) }
func (f accessFeeds) TagFeed(format string) http.Handler  { return f.h.Tag(feed.Format(format)) }

// lineFor waits until the access log holds the line of the request with
// id (the server logs after the response is on its way), flushing it.
func lineFor(t *testing.T, al *web.AccessLog, out *lockedBuffer, id string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		al.Flush()
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, id) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access log line for request %s in:\n%s", id, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAccessLog(t *testing.T) {
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	t.Run("OKText", func(t *testing.T) {
		out := &lockedBuffer{}
		al, h := accessServer(t, out, false, loopback)
		srv := httptest.NewServer(h)
		defer srv.Close()
		tests := []struct {
			name, path string
			headers    []string
			want       *regexp.Regexp
		}{
			{"SiteFeedBehindProxy", "/feed.atom", []string{"X-Forwarded-For", "203.0.113.7, 127.0.0.1"},
				regexp.MustCompile(`^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=INFO msg=access method=GET route="GET /feed.atom" status=200 bytes=(\d+) duration_ms=\d+\.\d{3} request_id=(\S+) ip=203\.0\.113\.7$`)},
			{"TagFeedPattern", "/tags/wp2/feed.json", nil,
				regexp.MustCompile(` method=GET route="GET /tags/{slug}/feed.json" status=200 bytes=(\d+) duration_ms=\S+ request_id=(\S+) ip=127\.0\.0\.1$`)},
			{"NotFound", "/nowhere", nil,
				regexp.MustCompile(` method=GET route=/ status=404 bytes=(\d+) duration_ms=\S+ request_id=(\S+) ip=127\.0\.0\.1$`)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
				for i := 0; i+1 < len(tc.headers); i += 2 {
					req.Header.Set(tc.headers[i], tc.headers[i+1])
				}
				req.Header.Set("Accept-Encoding", "identity")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				id := resp.Header.Get("X-Request-Id")
				line := lineFor(t, al, out, id)
				m := tc.want.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("line %q does not match %s", line, tc.want)
				}
				if m[1] != fmt.Sprint(len(body)) || m[2] != id {
					t.Errorf("bytes=%s request_id=%s, want %d and %s", m[1], m[2], len(body), id)
				}
			})
		}
		t.Run("NotModified", func(t *testing.T) {
			resp, err := http.Get(srv.URL + "/feed.rss")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			req, _ := http.NewRequest("GET", srv.URL+"/feed.rss", nil)
			req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			line := lineFor(t, al, out, resp.Header.Get("X-Request-Id"))
			if !strings.Contains(line, ` route="GET /feed.rss" status=304 bytes=0 `) {
				t.Errorf("line %q", line)
			}
		})
	})
	t.Run("OKUntrustedPeer", func(t *testing.T) {
		out := &lockedBuffer{}
		al, h := accessServer(t, out, false) // no trusted proxies
		srv := httptest.NewServer(h)
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL+"/feed.atom", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if line := lineFor(t, al, out, resp.Header.Get("X-Request-Id")); !strings.HasSuffix(line, " ip=127.0.0.1") {
			t.Errorf("X-Forwarded-For from an untrusted peer was believed: %q", line)
		}
	})
	t.Run("OKJSON", func(t *testing.T) {
		out := &lockedBuffer{}
		al, h := accessServer(t, out, true, loopback)
		srv := httptest.NewServer(h)
		defer srv.Close()
		req, _ := http.NewRequest("HEAD", srv.URL+"/tags/wp2/feed.rss", nil)
		req.Header.Set("X-Forwarded-For", "2001:db8::1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("X-Request-Id")
		var got map[string]any
		if err := json.Unmarshal([]byte(lineFor(t, al, out, id)), &got); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]any{"level": "INFO", "msg": "access", "method": "HEAD", "route": "GET /tags/{slug}/feed.rss",
			"status": 200.0, "bytes": 0.0, "request_id": id, "ip": "2001:db8::1"} {
			if got[k] != want {
				t.Errorf("%s = %v, want %v", k, got[k], want)
			}
		}
		if _, ok := got["duration_ms"].(float64); !ok {
			t.Errorf("duration_ms = %v", got["duration_ms"])
		}
		if ts, _ := got["time"].(string); ts == "" {
			t.Error("no time")
		}
	})
}

// BenchmarkAccessLogFeed serves the cached site feed through the whole
// middleware with the access log off and on: the two report the same
// allocations (what the middleware itself costs), since a line costs none.
func BenchmarkAccessLogFeed(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			var out io.Writer
			if on {
				out = io.Discard
			}
			_, h := accessServer(b, out, false)
			req := httptest.NewRequest("GET", "/feed.atom", nil)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}
