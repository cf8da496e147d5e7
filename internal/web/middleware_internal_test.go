package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/metrics"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/templates"
)

type feedRoutes struct{ h *feed.Handler }

func (f feedRoutes) SiteFeed(format string) http.Handler { return f.h.Site(feed.Format(format)) }
func (f feedRoutes) TagFeed(format string) http.Handler  { return f.h.Tag(feed.Format(format)) }

// cachedFeedServer is the daemon's HTTP stack as `herald serve` builds it
// by default (routes, middleware, metrics, access log on) serving the
// cached site feed: one request of it.
func cachedFeedServer(t testing.TB) func() {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for i := range 20 {
		a := &article.Article{Slug: fmt.Sprintf("a%d", i), Title: fmt.Sprintf("Article %d", i), BodyHTML: "<p>Body</p>",
			Published: now.Add(-time.Duration(i+1) * time.Hour), Source: article.SourceAPI}
		if _, err := st.UpsertArticle(ctx, a, now); err != nil {
			t.Fatal(err)
		}
	}
	fh := feed.NewHandler(st, feed.Site{Title: "T", BaseURL: "https://news.example.org"}, feed.Options{Now: func() time.Time { return now }})
	if _, err := fh.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Site: Site{Title: "T", BaseURL: "https://news.example.org", Location: time.UTC},
		Store: st, Feeds: feedRoutes{fh}, Templates: templates.FS(""),
		AccessLog: NewAccessLog(io.Discard, false), Observer: metrics.New(nil)})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/feed.atom", nil)
	req.RemoteAddr = "127.0.0.1:41000"
	w := &nopWriter{h: http.Header{}}
	return func() {
		clear(w.h)
		s.ServeHTTP(w, req)
	}
}

// TestMiddlewareCachedFeedAllocs: the daemon's stack adds at most two
// allocations to a cached feed request (the request's copy carrying the
// request id in its context, and one block for the id, the status capture
// and the header value); it was 6.
func TestMiddlewareCachedFeedAllocs(t *testing.T) {
	serve := cachedFeedServer(t)
	serve() // the metrics series for the route are made on first use
	if n := testing.AllocsPerRun(200, serve); n > 2 {
		t.Errorf("cached feed through the server: %v allocs per request, want <= 2", n)
	}
}

// BenchmarkServerCachedFeed: the cached feed through the daemon's stack.
func BenchmarkServerCachedFeed(b *testing.B) {
	serve := cachedFeedServer(b)
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}
