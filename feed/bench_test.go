package feed

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/postgres"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/testenv"
)

// benchBody is a typical article body: about 1.5 KB of sanitised HTML
// with root-relative links and an image, like the example articles.
func benchBody(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<h2 id="intro-%d">Introduction</h2>`, i)
	for p := range 4 {
		fmt.Fprintf(&b, `<p>Paragraph %d of article %d: the cluster training in Tromsø gathered researchers from Åbo, Göteborg and Ålesund. `+
			`See <a href="/articles/a%06d">the previous report</a> and <a href="https://example.com/docs?id=%d&amp;v=2">the documentation</a>. `+
			`<em>Results</em> were “promising” &amp; the <code>WP4</code> team will follow up.</p>`, p, i, max(i-1, 0), p)
	}
	fmt.Fprintf(&b, `<p><img src="/media/2024/photo-%d.jpg" alt="Group photo"></p><ul><li>One</li><li>Two</li></ul>`, i)
	return b.String()
}

func benchArticle(i int, at time.Time) article.Article {
	tags := []article.Tag{{Name: "News", Slug: "news"}, {Name: fmt.Sprintf("Topic %d", i%50), Slug: fmt.Sprintf("topic-%d", i%50)}}
	return article.Article{
		Slug: fmt.Sprintf("a%06d", i), Title: fmt.Sprintf("Article %d: Cluster training in Tromsø", i),
		Summary:  "The cluster training gathered researchers from across the Nordics to compare notes.",
		BodyHTML: benchBody(i), AuthorName: "Åsa Öberg", AuthorEmail: "asa@example.org", Tags: tags,
		Image:     &article.Image{MediaPath: fmt.Sprintf("2024/photo-%d.jpg", i), Alt: "Group photo", Width: 1200, Height: 800},
		Published: at, Updated: at, Source: article.SourceAPI, ContentHash: fmt.Sprint(i),
	}
}

func BenchmarkRender20(b *testing.B) {
	items := make([]article.Article, 20)
	for i := range items {
		items[i] = benchArticle(i, fixedNow().Add(-time.Duration(i)*time.Hour))
	}
	for _, f := range Formats() {
		for _, memoized := range []bool{false, true} {
			name := string(f)
			var memo *contentMemo
			if memoized {
				name += "-memo" // the handler's path: bodies prepared once
				memo = &contentMemo{}
			}
			b.Run(name, func(b *testing.B) {
				p := Page{Format: f, SelfURL: "https://news.example.org/feed." + f.Ext()}
				var n int
				for b.Loop() {
					out, err := render(testSite(), p, items, memo)
					if err != nil {
						b.Fatal(err)
					}
					n = len(out)
				}
				b.SetBytes(int64(n))
			})
		}
	}
}

// BenchmarkQuery100k lists a page of 20 from a real SQLite store holding
// 100,000 articles and renders it: what an on-demand variant costs.
func BenchmarkQuery100k(b *testing.B) {
	s, err := sqlite.Open(context.Background(), b.TempDir()+"/h.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	query100k(b, s)
}

// BenchmarkQuery100kPostgres is BenchmarkQuery100k on PostgreSQL
// (HERALD_TEST_POSTGRES_DSN; BENCHMARKS.md "Several instances").
func BenchmarkQuery100kPostgres(b *testing.B) {
	s, err := postgres.Open(context.Background(), testenv.PostgresDSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	query100k(b, s)
}

// query100kStore is what the 100,000-article benchmarks need of a store.
type query100kStore interface {
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
	ListArticles(ctx context.Context, q article.Query) ([]article.Article, error)
}

// query100k fills s with 100,000 articles and renders 20-item feeds from it
// as the handler does.
func query100k(b *testing.B, s query100kStore) {
	ctx := context.Background()
	start := time.Now()
	const n = 100_000
	for i := range n {
		a := benchArticle(i, fixedNow().Add(-time.Duration(n-i)*time.Minute))
		if _, err := s.UpsertArticle(ctx, &a, fixedNow()); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("inserted %d articles in %v", n, time.Since(start).Round(time.Millisecond))
	run := func(name string, q article.Query, tag *article.Tag) {
		b.Run(name, func(b *testing.B) {
			p := Page{Format: Atom, SelfURL: "https://news.example.org/feed.atom", Tag: tag}
			var memo *contentMemo
			if strings.HasSuffix(name, "Memo") {
				memo = &contentMemo{} // as the handler renders: bodies prepared once
			}
			for b.Loop() {
				items, err := s.ListArticles(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(items) != 20 {
					b.Fatalf("%d items", len(items))
				}
				if _, err := render(testSite(), p, items, memo); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("SiteListOnly", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.ListArticles(ctx, article.Query{Now: fixedNow(), Limit: 20}); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("Site", article.Query{Now: fixedNow(), Limit: 20}, nil)
	run("SiteMemo", article.Query{Now: fixedNow(), Limit: 20}, nil)
	run("Tag", article.Query{Now: fixedNow(), Limit: 20, Tags: []string{"topic-7"}}, &article.Tag{Name: "Topic 7", Slug: "topic-7"})
	run("TagMemo", article.Query{Now: fixedNow(), Limit: 20, Tags: []string{"topic-7"}}, &article.Tag{Name: "Topic 7", Slug: "topic-7"})
	run("TagPage50", article.Query{Now: fixedNow(), Limit: 20, Offset: 20 * 49, Tags: []string{"topic-7"}}, &article.Tag{Name: "Topic 7", Slug: "topic-7"})
}

// discard is a ResponseWriter that keeps nothing, so the benchmarks
// measure the handler, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func benchHandler(b *testing.B) *Handler {
	s := newStore(b)
	for i := range 20 {
		a := benchArticle(i, fixedNow().Add(-time.Duration(i)*time.Hour))
		if _, err := s.UpsertArticle(context.Background(), &a, fixedNow()); err != nil {
			b.Fatal(err)
		}
	}
	// With a hook as the metrics set one: it must keep the path allocation-free.
	var served [2]atomic.Int64
	h := NewHandler(s, testSite(), Options{AllowedOrigins: []string{"*"}, Now: fixedNow,
		OnServe: func(r CacheResult) { served[r].Add(1) }})
	if _, err := h.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	return h
}

func benchServe(b *testing.B, req *http.Request, wantStatus int) {
	h := benchHandler(b).Site(Atom)
	w := &discard{h: http.Header{}}
	rec := &statusRecorder{ResponseWriter: w}
	h.ServeHTTP(rec, req)
	if rec.status != wantStatus {
		b.Fatalf("status %d, want %d", rec.status, wantStatus)
	}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func BenchmarkServeCached(b *testing.B) {
	for _, enc := range []string{"identity", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, "/feed.atom", nil)
			req.Header.Set("Accept-Encoding", enc)
			benchServe(b, req, http.StatusOK)
		})
	}
}

func BenchmarkServe304(b *testing.B) {
	h := benchHandler(b)
	body, _ := h.Bytes(context.Background(), Variant{Format: Atom})
	_ = body
	e := h.main.Load().entries[mainKey{Atom, ""}]
	req, _ := http.NewRequest(http.MethodGet, "/feed.atom", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("If-None-Match", e.etag[gzipped][0])
	benchServe(b, req, http.StatusNotModified)
}
