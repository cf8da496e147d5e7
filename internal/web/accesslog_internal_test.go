package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
)

type nopWriter struct{ h http.Header }

func (d *nopWriter) Header() http.Header         { return d.h }
func (d *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *nopWriter) WriteHeader(int)             {}

// cachedFeedPath is the cached site feed (feed.Handler, rendered ahead)
// followed by its access log line, from a client behind a trusted proxy:
// what the access log adds to the hot path of a feed request.
func cachedFeedPath(t testing.TB) func() {
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
	s := &Server{cfg: Config{AccessLog: NewAccessLog(io.Discard, false),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	h := fh.Site(feed.Atom)
	req := httptest.NewRequest("GET", "/feed.atom", nil)
	req.RemoteAddr = "10.1.2.3:41000"
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 10.9.9.9")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Pattern = "GET /feed.atom"
	w := &nopWriter{h: http.Header{}}
	sw := &statusWriter{ResponseWriter: w}
	return func() {
		clear(w.h)
		*sw = statusWriter{ResponseWriter: w}
		start := time.Now()
		h.ServeHTTP(sw, req)
		s.logAccess(req, sw, start, time.Since(start), "1a2b3c4d-1")
	}
}

// TestAccessLogNoAlloc: an access log line costs the cached feed path no
// allocation (log.access is on by default, on the busiest route).
func TestAccessLogNoAlloc(t *testing.T) {
	serve := cachedFeedPath(t)
	if n := testing.AllocsPerRun(200, serve); n != 0 {
		t.Errorf("cached feed with access log: %v allocs per request, want 0", n)
	}
}

// BenchmarkAccessLogCachedFeed: 0 allocs/op.
func BenchmarkAccessLogCachedFeed(b *testing.B) {
	serve := cachedFeedPath(b)
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

// TestAccessLogStamp: the cached second stamp and the integer
// milliseconds write what time.AppendFormat and strconv.AppendFloat did.
func TestAccessLogStamp(t *testing.T) {
	l := NewAccessLog(io.Discard, false)
	base := time.Date(2026, 12, 6, 9, 15, 59, 0, time.UTC)
	times := []time.Time{
		base, base.Add(999 * time.Millisecond), base.Add(999_999_999), base.Add(time.Second), base.Add(time.Second + 7*time.Millisecond),
		base.Add(-time.Hour), base.In(time.FixedZone("CET", 3600)).Add(123456789), time.Unix(0, 0), time.Unix(-1, 5e8),
	}
	for _, at := range times {
		want := string(at.UTC().AppendFormat(nil, accessTime))
		if got := string(l.appendTime(nil, at)); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", at, got, want)
		}
	}
	// (Exact half microseconds round up here; the float path depends on
	// their binary value. Neither matters in a log.)
	for _, d := range []time.Duration{0, 1, 499, 501, 1499, 1501, 999_499, time.Millisecond, 1234567, 12*time.Second + 345678, time.Hour, -1234567} {
		want := string(strconv.AppendFloat(nil, float64(d)/float64(time.Millisecond), 'f', 3, 64))
		if got := string(appendMillis(nil, d)); got != want {
			t.Errorf("appendMillis(%d) = %s, want %s", d, got, want)
		}
	}
}
