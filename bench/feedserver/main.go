// Command feedserver serves Herald's Atom feed from a fresh SQLite store
// for bench/feeds.sh: 20 example-like articles, the real feed Handler on a
// plain net/http ServeMux. It writes the exact bytes it serves and their
// ETag to -out, so nginx can serve the same file for comparison.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/metrics"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "feedserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("feedserver", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	out := fs.String("out", "", "folder to write feed.atom, etag and addr to (required)")
	plain := fs.Bool("plain", false, "serve the feed handler on a bare ServeMux (to measure what the daemon's middleware costs)")
	bare := fs.Bool("bare", false, "serve the same bytes from a bare net/http handler (w.Write with Content-Length), the reference for the daemon")
	frontConf := fs.String("front-conf", "", "write -out/front/nginx.conf: this deploy/nginx.conf templated to proxy to this server")
	frontListen := fs.String("front-listen", "", "the loopback address the -front-conf nginx listens on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out is required")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("-addr %q: only loopback addresses", *addr)
	}
	st, err := sqlite.Open(ctx, filepath.Join(*out, "bench.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	for i := range 20 {
		a := exampleArticle(i, now.Add(-time.Duration(i)*time.Hour))
		if _, err := st.UpsertArticle(ctx, &a, now); err != nil {
			return err
		}
	}
	h := feed.NewHandler(st, feed.Site{
		Title: "Herald bench", Description: "Benchmark feed", BaseURL: "http://127.0.0.1",
		Language: "en", Author: "Herald",
	}, feed.Options{AllowedOrigins: []string{"*"}, Logger: slog.Default()})
	if _, err := h.Refresh(ctx); err != nil {
		return err
	}
	body, err := h.Bytes(ctx, feed.Variant{Format: feed.Atom})
	if err != nil {
		return err
	}
	// The daemon's own HTTP stack (routes and middleware), not a bare mux,
	// so the figure is what `herald serve` delivers.
	var mux http.Handler
	var access *web.AccessLog
	if *bare {
		ctype, size := "application/atom+xml; charset=utf-8", strconv.Itoa(len(body))
		mux = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", ctype)
			h.Set("Content-Length", size)
			w.Write(body)
		})
	} else if *plain {
		bare := http.NewServeMux()
		bare.Handle("GET /feed.atom", h.Site(feed.Atom))
		mux = bare
	} else {
		// As `herald serve` runs by default: metrics and the access log on
		// (to a file here, as journald or a log file would take it).
		f, err := os.Create(filepath.Join(*out, "access.log"))
		if err != nil {
			return err
		}
		defer f.Close()
		access = web.NewAccessLog(f, false)
		go access.Run(ctx, time.Second)
		if mux, err = web.New(web.Config{
			Site:      web.Site{Title: "Herald bench", BaseURL: "http://127.0.0.1", Language: "en"},
			Store:     st,
			Feeds:     feedRoutes{h},
			Templates: templates.FS(""),
			AccessLog: access,
			Observer:  metrics.New(nil),
		}); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// The ETag clients get for the identity encoding, for the 304 runs.
	rec := &headerCapture{h: http.Header{}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, "/feed.atom", nil)
	mux.ServeHTTP(rec, req)
	for name, data := range map[string]string{
		"feed.atom": string(body), "etag": rec.h.Get("ETag"), "addr": ln.Addr().String(),
	} {
		if err := os.WriteFile(filepath.Join(*out, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	if *frontConf != "" {
		dir := filepath.Join(*out, "front")
		if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o777); err != nil {
			return err
		}
		os.Chmod(dir, 0o777) // nginx's workers run as nobody under root
		os.Chmod(filepath.Join(dir, "tmp"), 0o777)
		conf, err := frontConfig(*frontConf, *frontListen, ln.Addr().String(), dir, 2)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if access != nil {
		fmt.Fprintf(os.Stderr, "feedserver: access log lines dropped: %d\n", access.Dropped())
	}
	return nil
}

type feedRoutes struct{ h *feed.Handler }

func (f feedRoutes) SiteFeed(format string) http.Handler { return f.h.Site(feed.Format(format)) }
func (f feedRoutes) TagFeed(format string) http.Handler  { return f.h.Tag(feed.Format(format)) }

type headerCapture struct{ h http.Header }

func (c *headerCapture) Header() http.Header         { return c.h }
func (c *headerCapture) Write(p []byte) (int, error) { return len(p), nil }
func (c *headerCapture) WriteHeader(int)             {}

// exampleArticle is like the example articles: a title, a summary, about
// 1.5 KB of body HTML with links and an image, an author, two tags.
func exampleArticle(i int, at time.Time) article.Article {
	var b strings.Builder
	fmt.Fprintf(&b, `<h2 id="intro">Introduction</h2>`)
	for p := range 4 {
		fmt.Fprintf(&b, `<p>Paragraph %d of article %d: the cluster training in Tromsø gathered researchers from Åbo, Göteborg and Ålesund. `+
			`See <a href="/articles/a%03d">the previous report</a> and <a href="https://example.com/docs?id=%d&amp;v=2">the documentation</a>. `+
			`<em>Results</em> were “promising” &amp; the <code>WP4</code> team will follow up.</p>`, p, i, max(i-1, 0), p)
	}
	fmt.Fprintf(&b, `<p><img src="/media/2024/photo-%d.jpg" alt="Group photo"></p>`, i)
	return article.Article{
		Slug: fmt.Sprintf("a%03d", i), Title: fmt.Sprintf("Article %d: Cluster training in Tromsø", i),
		Summary:  "The cluster training gathered researchers from across the Nordics to compare notes.",
		BodyHTML: b.String(), AuthorName: "Åsa Öberg", AuthorEmail: "asa@example.org",
		Tags:      []article.Tag{{Name: "News", Slug: "news"}, {Name: "Cluster training", Slug: "cluster-training"}},
		Image:     &article.Image{MediaPath: fmt.Sprintf("2024/photo-%d.jpg", i), Alt: "Group photo", Width: 1200, Height: 800},
		Published: at, Updated: at, Source: article.SourceAPI, ContentHash: fmt.Sprint(i),
	}
}
