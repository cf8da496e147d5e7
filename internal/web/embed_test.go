package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

// embedFixture is Herald (a web.Server over a SQLite store) on a loopback
// listener whose URL is also its site.base_url, as in production.
type embedFixture struct {
	srv   *httptest.Server
	store *sqlite.Store
	dir   string // the content folder (/media)
	// feedCache is the Cache-Control of the feed responses.
	feedCache string
}

type embedSetup struct {
	allowedOrigins []string
	feedCache      string
	// articles: default embedArticles().
	articles []*article.Article
}

var embedNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// embedArticles: WP4 and WP2 news, an article with a hostile title and
// summary, and one with an image served from /media.
func embedArticles() []*article.Article {
	mk := func(slug, title string, day int, tags ...string) *article.Article {
		a := &article.Article{Slug: slug, Title: title, Summary: "Summary of " + title, BodyHTML: "<p>Body</p>",
			AuthorName: "Åsa Lindqvist", Published: embedNow.AddDate(0, 0, -day), Source: article.SourceAPI}
		for _, tg := range tags {
			a.Tags = append(a.Tags, article.Tag{Name: tg, Slug: article.Slugify(tg)})
		}
		return a
	}
	list := []*article.Article{
		mk("wp4-one", "WP4 partners meet in Aalborg", 1, "WP4", "partners"),
		mk("wp2-one", "Cluster managers train in Göteborg", 2, "WP2", "training"),
		mk("wp4-two", "WP4 baseline report published", 3, "WP4", "report"),
		mk("wp4-three", "WP4 voucher call opens", 4, "WP4", "funding"),
		mk("wp2-two", "Flanders matchmaking in Gent", 5, "WP2"),
		mk("hostile", `<img src=x onerror="window.__pwned=1">`, 6, "XSS"),
		mk("future", "From the future", -3, "WP4"),
	}
	list[5].Summary = `<script>window.__pwned=2</script><b>bold?</b>`
	list[5].Link = "javascript:window.__pwned=3"
	list[0].Image = &article.Image{MediaPath: "images/pic.png", Alt: "A picture", Width: 40, Height: 30}
	draft := mk("draft", "A WP4 draft", 1, "WP4")
	draft.Draft = true
	return append(list, draft)
}

func newEmbedFixture(t *testing.T, setup embedSetup) *embedFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if setup.articles == nil {
		setup.articles = embedArticles()
	}
	for _, a := range setup.articles {
		if _, err := st.UpsertArticle(ctx, a, embedNow); err != nil {
			t.Fatal(err)
		}
	}
	f := &embedFixture{store: st, feedCache: setup.feedCache}
	if f.feedCache == "" {
		f.feedCache = "public, max-age=300"
	}
	if setup.allowedOrigins == nil {
		setup.allowedOrigins = []string{"*"}
	}
	f.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + f.srv.Listener.Addr().String()
	dir := t.TempDir()
	f.dir = dir
	writePNG(t, filepath.Join(dir, "images", "pic.png"), 40, 30)
	fh := newTestFeedHandler(t, st, base, setup.allowedOrigins, f.feedCache)
	s, err := web.New(web.Config{
		Site:       web.Site{Title: "Herald Test", Description: "Test site", BaseURL: base, Language: "en", Location: time.UTC},
		Store:      st,
		Feeds:      feedRoutes{fh},
		Templates:  templates.FS(""),
		ContentDir: dir,
		PageSize:   20,
		MaxItems:   100,
		Now:        func() time.Time { return embedNow },
		Embed: web.EmbedConfig{
			AllowedOrigins: setup.allowedOrigins,
			Newsletters:    []web.EmbedNewsletter{{ID: "monthly", Title: "Monthly", Default: true}, {ID: "wp4", Title: "WP4 news"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Config.Handler = s
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *embedFixture) url(p string) string { return f.srv.URL + p }

func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	// No transparent decompression: we check the bytes sent.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestEmbedFrame(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{allowedOrigins: []string{"https://partner.example", "http://other.example:8081/", "bad; script-src *"}})
	tests := []struct {
		name, query string
		status      int
		want        []string
		notWant     []string
	}{
		{"OK", "", 200, []string{`<html lang="en">`, `WP4 partners meet in Aalborg`, `November 27, 2026`, `class="herald list" data-theme="auto"`,
			`target="_blank" rel="noopener"`, `<img class="image" src="/media/images/pic.png" alt="" loading="lazy" width="40" height="30">`,
			`Summary of WP4 partners`},
			[]string{"From the future", "A WP4 draft", "<script"}},
		{"Tags", "?tags=wp4", 200, []string{"WP4 partners meet", "WP4 baseline", "WP4 voucher"}, []string{"Göteborg", "Gent"}},
		{"TagNames", "?tags=WP4,%20wp2", 200, []string{"WP4 partners meet", "Göteborg"}, []string{"XSS"}},
		{"Limit", "?tags=wp4&limit=2", 200, []string{"WP4 partners meet", "WP4 baseline"}, []string{"WP4 voucher"}},
		{"Swedish", "?lang=sv&tags=wp4&limit=1", 200, []string{`<html lang="sv">`, "27 november 2026"}, nil},
		{"German", "?lang=de-AT&tags=wp4&limit=1", 200, []string{"27. November 2026"}, nil},
		{"Finnish", "?lang=fi&tags=wp4&limit=1", 200, []string{`<html lang="fi">`, "27.11.2026"}, nil},
		{"DarkCards", "?theme=dark&layout=cards", 200, []string{`class="herald cards" data-theme="dark"`}, nil},
		{"NoImagesNoSummaries", "?images=off&summaries=off", 200, []string{"WP4 partners meet"}, []string{"<img", "Summary of"}},
		{"Hostile", "?tags=xss", 200, []string{
			`&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;`,
			`&lt;script&gt;window.__pwned=2&lt;/script&gt;&lt;b&gt;bold?&lt;/b&gt;`,
			`href="` + f.url("/articles/hostile") + `"`},
			[]string{"<img src=x", "<script>", "javascript:"}},
		{"Empty", "?tags=nothing-here", 200, []string{"No news yet."}, []string{"<ul"}},
		{"ErrLimit", "?limit=0", 400, []string{"limit must be"}, nil},
		{"ErrLimitTooBig", "?limit=101", 400, nil, nil},
		{"ErrTheme", "?theme=pink", 400, []string{"theme must be one of light, dark, auto"}, nil},
		{"ErrLayout", "?layout=grid", 400, nil, nil},
		{"ErrLang", "?lang=%22%3E%3Cx", 400, nil, nil},
		{"ErrImages", "?images=yes", 400, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := get(t, f.url("/embed/frame"+tt.query))
			body := string(b)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
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
			if tt.status != 200 {
				return
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'self' https://partner.example http://other.example:8081") ||
				strings.Contains(csp, "bad") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
				t.Errorf("CSP %q", csp)
			}
			// The inline style is allowed by its hash, and only by it.
			m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(body)
			if m == nil {
				t.Fatal("no <style>")
			}
			sum := sha256.Sum256([]byte(m[1]))
			if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
			if resp.Header.Get("ETag") == "" || resp.Header.Get("Cache-Control") != "public, max-age=300" {
				t.Errorf("caching headers: %v", resp.Header)
			}
		})
	}
}

func TestEmbedFrameConditional(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	resp, _ := get(t, f.url("/embed/frame?tags=wp4"))
	resp2, _ := get(t, f.url("/embed/frame?tags=wp4"), "If-None-Match", resp.Header.Get("ETag"))
	if resp2.StatusCode != http.StatusNotModified {
		t.Errorf("conditional frame: %d", resp2.StatusCode)
	}
}

func TestEmbedFrameAncestors(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		want    string
	}{
		{"Any", []string{"*"}, "frame-ancestors *"},
		{"AnyAmongOthers", []string{"https://a.example", "*"}, "frame-ancestors *"},
		{"None", []string{}, "frame-ancestors 'self'"},
		{"List", []string{"https://a.example", "http://127.0.0.1:9000"}, "frame-ancestors 'self' https://a.example http://127.0.0.1:9000"},
		{"ErrInjection", []string{"https://a.example; script-src *", "https://b.example/path", "ftp://c.example"}, "frame-ancestors 'self'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newEmbedFixture(t, embedSetup{allowedOrigins: tt.origins})
			resp, _ := get(t, f.url("/embed/frame"))
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.HasSuffix(csp, tt.want) {
				t.Errorf("CSP %q, want it to end with %q", csp, tt.want)
			}
		})
	}
}

func TestEmbedDates(t *testing.T) {
	// Through the frame, which is the only user of the Go tables.
	tests := []struct{ lang, day, want string }{
		{"en", "2026-09-24", "September 24, 2026"},
		{"en-US", "2026-09-24", "September 24, 2026"},
		{"en-Latn-CA", "2026-09-24", "September 24, 2026"},
		{"en-GB", "2026-09-24", "24 September 2026"},
		{"en-150", "2026-09-24", "24 September 2026"},
		{"sv", "2026-03-01", "1 mars 2026"},
		{"da", "2026-05-17", "17. maj 2026"},
		{"nb", "2025-12-24", "24. desember 2025"},
		{"de", "2026-03-05", "5. März 2026"},
		{"nl", "2026-03-05", "5 maart 2026"},
		{"fr", "2026-08-01", "1 août 2026"},
		{"nn", "2026-08-01", "1. august 2026"},
		{"fr", "2026-02-14", "14 février 2026"},
		{"ja", "2026-02-14", "2026-02-14"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.day, func(t *testing.T) {
			d, _ := time.Parse("2006-01-02", tt.day)
			a := &article.Article{Slug: "a", Title: "A", Published: d, Source: article.SourceAPI}
			f := newEmbedFixture(t, embedSetup{articles: []*article.Article{a}})
			_, b := get(t, f.url("/embed/frame?lang="+tt.lang))
			if !strings.Contains(string(b), ">"+tt.want+"</time>") {
				t.Errorf("no %q in %s", tt.want, b)
			}
		})
	}
}

// bundleURL fetches the loader and returns the bundle path it loads.
func bundleURL(t *testing.T, f *embedFixture) string {
	t.Helper()
	_, loader := get(t, f.url("/embed.js"))
	m := regexp.MustCompile(`"(/embed/v/[0-9a-f]{16}\.js)"`).FindSubmatch(loader)
	if m == nil {
		t.Fatalf("loader names no bundle: %s", loader)
	}
	return string(m[1])
}

func TestEmbedScripts(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	t.Run("Loader", func(t *testing.T) {
		resp, b := get(t, f.url("/embed.js"))
		h := resp.Header
		if resp.StatusCode != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") ||
			h.Get("Cache-Control") != "public, max-age=300" || h.Get("ETag") == "" || h.Get("Content-Length") != strconv.Itoa(len(b)) {
			t.Fatalf("loader: %d %v", resp.StatusCode, h)
		}
		if !strings.Contains(string(b), "document.currentScript") || strings.Contains(string(b), "location") {
			t.Errorf("the loader must find Herald from its own src: %s", b)
		}
		t.Logf("loader: %d bytes", len(b))
		if len(b) > 1024 {
			t.Errorf("loader is %d bytes; keep it tiny", len(b))
		}
		resp2, _ := get(t, f.url("/embed.js"), "If-None-Match", h.Get("ETag"))
		if resp2.StatusCode != http.StatusNotModified {
			t.Errorf("conditional loader: %d", resp2.StatusCode)
		}
	})
	bundle := bundleURL(t, f)
	t.Run("Bundle", func(t *testing.T) {
		resp, b := get(t, f.url(bundle))
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			!strings.HasPrefix(h.Get("Content-Type"), "text/javascript") || h.Get("Cross-Origin-Resource-Policy") != "cross-origin" {
			t.Fatalf("bundle: %d %v", resp.StatusCode, h)
		}
		sum := sha256.Sum256(b)
		if want := fmt.Sprintf("/embed/v/%x.js", sum[:8]); bundle != want {
			t.Errorf("bundle path %s, want the hash of its bytes %s", bundle, want)
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		t.Logf("bundle: %d bytes, %d gzipped", len(b), gz.Len())
		if gz.Len() >= 6144 {
			t.Errorf("bundle is %d bytes gzipped; the budget is 6 KB", gz.Len())
		}
		src := string(b)
		for _, bad := range []string{"eval(", "new Function", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "setAttribute(\"on", "document.cookie", "HERALD_CSS", "HONEYPOT"} {
			if strings.Contains(src, bad) {
				t.Errorf("bundle contains %q", bad)
			}
		}
		for _, want := range []string{`attachShadow({ mode: "open" })`, "adoptedStyleSheets", "textContent", "localStorage", "Intl.DateTimeFormat", ":host{all:initial;display:block}", `credentials: "omit"`} {
			if !strings.Contains(src, want) {
				t.Errorf("bundle lacks %q", want)
			}
		}
	})
	t.Run("BundleGzip", func(t *testing.T) {
		resp, b := get(t, f.url(bundle), "Accept-Encoding", "gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" || len(b) >= 6144 {
			t.Fatalf("gzip bundle: %q, %d bytes", resp.Header.Get("Content-Encoding"), len(b))
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
		resp2, _ := get(t, f.url(bundle), "Accept-Encoding", "gzip", "If-None-Match", resp.Header.Get("ETag"))
		if resp2.StatusCode != http.StatusNotModified {
			t.Errorf("conditional gzip bundle: %d", resp2.StatusCode)
		}
	})
	t.Run("ErrUnknownHash", func(t *testing.T) {
		for _, p := range []string{"/embed/v/0123456789abcdef.js", "/embed/v/" + strings.TrimPrefix(bundle, "/embed/v/") + "x"} {
			if resp, _ := get(t, f.url(p)); resp.StatusCode != 404 {
				t.Errorf("%s: %d, want 404", p, resp.StatusCode)
			}
		}
	})
}

// TestEmbedBundleFollowsTemplates: an overridden widget gets a new hash,
// so partners' browsers fetch it.
func TestEmbedBundleFollowsTemplates(t *testing.T) {
	paths := map[string]bool{}
	for _, extra := range []string{"", "/* changed */"} {
		dir := t.TempDir()
		if extra != "" {
			css, _ := fs.ReadFile(templates.Embedded(), "embed/widget.css")
			writeFile(t, filepath.Join(dir, "embed", "widget.css"), string(css)+"\n.x{color:red}"+extra)
		}
		st, _ := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
		defer st.Close()
		s, err := web.New(web.Config{Site: web.Site{Title: "T", BaseURL: "http://x", Language: "en"}, Store: st, Templates: templates.FS(dir)})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/embed.js", nil))
		m := regexp.MustCompile(`/embed/v/[0-9a-f]+\.js`).FindString(rec.Body.String())
		paths[m] = true
	}
	if len(paths) != 2 {
		t.Errorf("bundle paths %v: changing the widget must change the hash", paths)
	}
}

func TestEmbedBuilderPage(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	resp, b := get(t, f.url("/embed?tags=wp4&tags=partners&limit=3&layout=cards&theme=dark&lang=sv&images=off&summaries=on&subscribe=on&subscribe=off"))
	body := string(b)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	base := f.srv.URL
	for _, w := range []string{
		// The script snippet, escaped as text in a textarea.
		`&lt;div data-herald-feed data-tags=&#34;wp4,partners&#34; data-limit=&#34;3&#34; data-layout=&#34;cards&#34; data-theme=&#34;dark&#34; data-lang=&#34;sv&#34; data-images=&#34;off&#34; data-summaries=&#34;on&#34; data-subscribe=&#34;on&#34;&gt;&lt;/div&gt;`,
		`&lt;script src=&#34;` + base + `/embed.js&#34; async&gt;&lt;/script&gt;`,
		// The iframe snippet and preview.
		`&lt;iframe src=&#34;` + base + `/embed/frame?tags=wp4,partners&amp;amp;limit=3&amp;amp;layout=cards&amp;amp;theme=dark&amp;amp;lang=sv&amp;amp;images=off&amp;amp;summaries=on&#34;`,
		`id="frame-preview" class="embed-frame" src="/embed/frame?tags=wp4,partners&amp;limit=3&amp;layout=cards&amp;theme=dark&amp;lang=sv&amp;images=off&amp;summaries=on"`,
		// The subscribe form snippet.
		`&lt;form action=&#34;` + base + `/subscribe&#34; method=&#34;post&#34;&gt;`,
		`name=&#34;newsletter&#34; value=&#34;monthly&#34; checked&gt; Monthly`,
		`&lt;input type=&#34;hidden&#34; name=&#34;tag&#34; value=&#34;wp4&#34;&gt;`,
		`name=&#34;` + web.HoneypotField + `&#34; tabindex=&#34;-1&#34;`,
		// The form keeps the choices.
		`value="wp4" checked`, `value="cards" checked`, `<option value="dark" selected>`, `<option value="sv" lang="sv" selected>`,
		// Every site language, Finnish too; the form snippet speaks the widget's.
		`<option value="fi" lang="fi">Suomi</option>`,
		`&lt;label for=&#34;herald-email&#34;&gt;E-postadress&lt;/label&gt;`, `&lt;button type=&#34;submit&#34;&gt;Prenumerera&lt;/button&gt;`,
		`title=&#34;Nyheter från Herald Test&#34;`,
		`name="limit" min="1" max="100" value="3"`,
		// Preview widget and scripts, all external.
		`<div data-herald-feed data-tags="wp4,partners" data-limit="3"`,
		`<script src="/embed.js" async></script>`, `<script src="/assets/embed-builder.js" defer></script>`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("builder lacks %q", w)
		}
	}
	if n := strings.Count(body, "<script"); n != strings.Count(body, "<script src=") {
		t.Errorf("inline scripts on the builder page: %d <script, %d with src", n, strings.Count(body, "<script src="))
	}
	if strings.Contains(body, " on") && regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
		t.Error("inline event handler on the builder page")
	}
	if resp, _ := get(t, f.url("/embed?limit=x")); resp.StatusCode != 400 {
		t.Errorf("bad builder options: %d", resp.StatusCode)
	}
	if resp, b := get(t, f.url("/assets/embed-builder.js")); resp.StatusCode != 200 || !strings.Contains(string(b), "DOMParser") {
		t.Errorf("builder script: %d", resp.StatusCode)
	}
}

// TestEmbedContrast computes WCAG 2 contrast ratios from the hex colours
// in widget.css, for each palette (light, dark, and the auto-dark copy,
// which must equal dark): text on background and on cards, muted text,
// links, and the button's label on the accent.
func TestEmbedContrast(t *testing.T) {
	css, err := fs.ReadFile(templates.Embedded(), "embed/widget.css")
	if err != nil {
		t.Fatal(err)
	}
	palettes := map[string]map[string]string{}
	re := regexp.MustCompile(`(?s)/\* palette: ([a-z-]+) \*/\s*[^{]*\{(.*?)\}`)
	decl := regexp.MustCompile(`--_([a-z]+):\s*var\(--herald-[a-z]+,\s*(#[0-9a-fA-F]{6})\)`)
	for _, m := range re.FindAllStringSubmatch(string(css), -1) {
		p := map[string]string{}
		for _, d := range decl.FindAllStringSubmatch(m[2], -1) {
			p[d[1]] = d[2]
		}
		palettes[m[1]] = p
	}
	if len(palettes) != 3 {
		t.Fatalf("palettes found: %v", palettes)
	}
	if fmt.Sprint(palettes["dark"]) != fmt.Sprint(palettes["auto-dark"]) {
		t.Errorf("auto-dark %v differs from dark %v", palettes["auto-dark"], palettes["dark"])
	}
	pairs := []struct{ fg, bg string }{
		{"fg", "bg"}, {"muted", "bg"}, {"accent", "bg"}, {"fg", "card"}, {"muted", "card"}, {"accent", "card"}, {"bg", "accent"},
	}
	for name, p := range palettes {
		for _, pr := range pairs {
			r := contrast(t, p[pr.fg], p[pr.bg])
			t.Logf("%s: %s %s on %s %s: %.2f", name, pr.fg, p[pr.fg], pr.bg, p[pr.bg], r)
			if r < 4.5 {
				t.Errorf("%s: %s on %s has contrast %.2f, below WCAG AA 4.5", name, pr.fg, pr.bg, r)
			}
		}
		// Borders of the email field must be visible (WCAG 1.4.11: 3:1).
		if r := contrast(t, p["muted"], p["bg"]); r < 3 {
			t.Errorf("%s: input border contrast %.2f", name, r)
		}
	}
}

func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	la, lb := luminance(t, a), luminance(t, b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	if len(hex) != 7 {
		t.Fatalf("colour %q", hex)
	}
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		c := float64(v) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}

// newTestFeedHandler is the real feed handler, as serve wires it
// (cmd/herald/feeds.go), at embedNow.
func newTestFeedHandler(t *testing.T, st *sqlite.Store, base string, origins []string, cacheControl string) *feed.Handler {
	t.Helper()
	fh := feed.NewHandler(st, feed.Site{Title: "Herald Test", BaseURL: base, Language: "en", Author: "Test"}, feed.Options{
		Items: 20, MaxItems: 100, CacheControl: cacheControl, AllowedOrigins: origins,
		Now: func() time.Time { return embedNow },
	})
	if _, err := fh.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return fh
}

// feedRoutes adapts the feed handler to web.Feeds, as cmd/herald does.
type feedRoutes struct{ h *feed.Handler }

func (f feedRoutes) SiteFeed(format string) http.Handler { return f.h.Site(feed.Format(format)) }
func (f feedRoutes) TagFeed(format string) http.Handler  { return f.h.Tag(feed.Format(format)) }

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writePNG(t *testing.T, p string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	writeFile(t, p, buf.String())
}
