package web_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

type fixture struct {
	srv     *httptest.Server
	handler http.Handler
	store   *sqlite.Store
	dir     string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "images"), 0o755)
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 40, 30)))
	os.WriteFile(filepath.Join(dir, "images", "pic.png"), buf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "secret.md"), []byte("---\ntitle: x\n---\n"), 0o644)

	add := func(slug, title string, day int, draft bool, tags ...string) {
		a := &article.Article{Slug: slug, Title: title, Summary: "Summary of " + title, BodyHTML: "<p>Body of " + slug + "</p>",
			AuthorName: "Søren Mølgaard", Published: now.AddDate(0, 0, day), Draft: draft, Source: article.SourceAPI}
		for _, tg := range tags {
			a.Tags = append(a.Tags, article.Tag{Name: tg, Slug: article.Slugify(tg)})
		}
		if slug == "with-image" {
			a.Image = &article.Image{MediaPath: "images/pic.png", Alt: "A picture", Width: 40, Height: 30}
		}
		if _, err := st.UpsertArticle(ctx, a, now); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 25; i++ {
		add("old-"+string(rune('a'+i)), "Old news "+string(rune('a'+i)), -30-i, false, "archive")
	}
	add("with-image", "Why <br> tags matter in Göteborg", -1, false, "Göteborg", "WP2")
	add("draft", "A draft", -1, true, "Göteborg")
	add("future", "From the future", 10, false, "Göteborg")

	s, err := web.New(web.Config{
		Site:       web.Site{Title: "Herald Test", Description: "Test site", BaseURL: "https://news.example.org", Language: "sv", Address: "Lindholmspiren 5, Göteborg", Location: time.UTC},
		Store:      st,
		Templates:  templates.FS(""),
		ContentDir: dir,
		Media:      st,
		PageSize:   20,
		MaxItems:   100,
		Now:        func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, handler: s, store: st, dir: dir}
}

func (f *fixture) get(t testing.TB, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The site's language is sv: English assertions ask for English.
	req.Header.Set("Accept-Language", "en")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPages(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, path string
		status     int
		want       []string
		notWant    []string
	}{
		{"Index", "/", 200, []string{
			`<html lang="en">`, // the reader's language (site.language is sv)
			`<link rel="alternate" type="application/atom&#43;xml" title="Herald Test (Atom)" href="https://news.example.org/feed.atom">`,
			`type="application/rss&#43;xml"`, `type="application/feed&#43;json"`,
			`Why &lt;br&gt; tags matter in Göteborg`, `href="/tags/goteborg"`, `href="/?page=2"`, `Lindholmspiren 5`,
		}, []string{"A draft", "From the future", "<br> tags"}},
		{"IndexPage2", "/?page=2", 200, []string{"Old news y", `href="/"`}, []string{"Why &lt;br&gt;"}},
		{"ErrPageTooFar", "/?page=9", 404, []string{"There are no articles on page 9."}, nil},
		{"ErrBadPage", "/?page=x", 400, []string{"The page number must be a whole number from 1."}, nil},
		{"Article", "/articles/with-image", 200, []string{
			`<h1>Why &lt;br&gt; tags matter in Göteborg</h1>`, `<p>Body of with-image</p>`,
			`<img src="/media/images/pic.png" alt="A picture" width="40" height="30">`,
			`<link rel="canonical" href="https://news.example.org/articles/with-image">`, "Søren Mølgaard",
		}, nil},
		{"ErrDraftHidden", "/articles/draft", 404, nil, []string{"A draft"}},
		{"ErrFutureHidden", "/articles/future", 404, nil, nil},
		{"ErrNoArticle", "/articles/nope", 404, []string{"There is no page"}, nil},
		{"Tag", "/tags/goteborg", 200, []string{"<h1>Göteborg</h1>", "Why &lt;br&gt;", `href="https://news.example.org/tags/goteborg/feed.atom"`}, []string{"Old news", "A draft"}},
		{"ErrNoTag", "/tags/nope", 404, nil, nil},
		{"Feeds", "/feeds", 200, []string{`value="https://news.example.org/feed.atom"`, `value="https://news.example.org/feed.rss"`, `value="https://news.example.org/feed.json"`, `value="https://news.example.org/tags/goteborg/feed.atom"`, "is a list of our latest articles", "feed reader"}, nil},
		{"ErrNoRoute", "/nowhere", 404, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.get(t, tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("content type %q", ct)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("body has %q", w)
				}
			}
		})
	}
}

func TestTagSlugRedirect(t *testing.T) {
	f := newFixture(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(f.srv.URL + "/tags/G%C3%B6teborg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/tags/goteborg" {
		t.Errorf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestMedia(t *testing.T) {
	f := newFixture(t)
	resp, body := f.get(t, "/media/images/pic.png")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(body, "\x89PNG") {
		t.Errorf("png: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/media/secret.md", "/media/../secret.md", "/media/images/none.png", "/media/%2e%2e/%2e%2e/etc/passwd"} {
		if resp, _ := f.get(t, p); resp.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestAssets(t *testing.T) {
	f := newFixture(t)
	resp, body := f.get(t, "/assets/style.css")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, "prefers-color-scheme") {
		t.Errorf("css: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	etag := resp.Header.Get("ETag")
	req, _ := http.NewRequest("GET", f.srv.URL+"/assets/style.css", nil)
	req.Header.Set("If-None-Match", etag)
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotModified {
		t.Errorf("conditional asset: %d", resp2.StatusCode)
	}
}

func TestTemplatesOverlay(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "pages"), 0o755)
	os.WriteFile(filepath.Join(dir, "pages", "error.html"), []byte(`{{define "content"}}<h1>Custom: {{.Title}}</h1>{{end}}`), 0o644)
	st, _ := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	defer st.Close()
	s, err := web.New(web.Config{Site: web.Site{Title: "T", BaseURL: "http://x", Language: "en"}, Store: st, Templates: templates.FS(dir)})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/nowhere", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "<h1>Custom: Not Found</h1>") {
		t.Errorf("overlay not used: %d %s", rec.Code, rec.Body.String())
	}
}
