package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/internal/testenv"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/widget.png from TestWidgetInBrowser")

// partnerSite is a partner's website on its own loopback origin (another
// port than Herald's): pages set by the test, each with optional headers.
type partnerSite struct {
	srv   *httptest.Server
	mu    sync.Mutex
	pages map[string]partnerPage
}

type partnerPage struct {
	html string
	csp  string
}

func newPartner(t *testing.T) *partnerSite {
	t.Helper()
	p := &partnerSite{pages: map[string]partnerPage{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/partner.css" {
			w.Header().Set("Content-Type", "text/css")
			fmt.Fprint(w, "body { font-family: Georgia, serif; background: #fffbe8; }")
			return
		}
		p.mu.Lock()
		pg, ok := p.pages[r.URL.Path]
		p.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if pg.csp != "" {
			w.Header().Set("Content-Security-Policy", pg.csp)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, pg.html)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// page sets a page and returns its URL.
func (p *partnerSite) page(path, head, body, csp string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pages[path] = partnerPage{csp: csp, html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Partner</title>` + head +
		`</head><body><h1>Partner organisation</h1><p>Latest news from the project:</p>` + body + `</body></html>`}
	return p.srv.URL + path
}

// widget is the script snippet with the given data attributes.
func widget(herald, attrs string) string {
	return `<div id="w" data-herald-feed ` + attrs + `></div><script src="` + herald + `/embed.js" async></script>`
}

func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate %s: %v", url, err)
	}
}

// widgetState waits until the widget has rendered (or given up) and
// returns data-herald-state: live, cached or unavailable.
func widgetState(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(() => { const s = document.querySelector("#w")?.getAttribute("data-herald-state"); return s && s !== "loading" ? s : null })()`,
		chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		t.Fatalf("widget did not render: %v", err)
	}
	return s
}

func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

const shadowTitles = `Array.from(document.querySelector("#w").shadowRoot.querySelectorAll("li.item .title")).map(e => e.textContent)`

func screenshot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	p := browsertest.Artifact(t, name, shot)
	t.Logf("screenshot: %s", p)
	return shot
}

// TestWidgetInBrowser: the script widget on a partner page (another
// origin) shows the items for its tags and limit, in both layouts and
// every theme, styled inside its shadow root.
func TestWidgetInBrowser(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	p := newPartner(t)
	ctx := browsertest.New(t, browsertest.Options{Timeout: 120 * time.Second})
	tests := []struct {
		name, attrs string
		titles      []string
		bg          string // computed background of the widget
		images      int
	}{
		{"ListLight", `data-tags="wp4" data-limit="2" data-theme="light" data-lang="en"`,
			[]string{"WP4 partners meet in Aalborg", "WP4 baseline report published"}, "rgb(255, 255, 255)", 1},
		{"CardsDark", `data-tags="wp4,wp2" data-limit="4" data-layout="cards" data-theme="dark" data-lang="sv"`,
			[]string{"WP4 partners meet in Aalborg", "Cluster managers train in Göteborg", "WP4 baseline report published", "WP4 voucher call opens"}, "rgb(18, 21, 27)", 1},
		{"CardsLightNoImages", `data-tags="wp4" data-layout="cards" data-theme="light" data-images="off" data-summaries="off"`,
			[]string{"WP4 partners meet in Aalborg", "WP4 baseline report published", "WP4 voucher call opens"}, "rgb(255, 255, 255)", 0},
		{"ListAutoDefaults", `data-tags="wp2"`,
			[]string{"Cluster managers train in Göteborg", "Flanders matchmaking in Gent"}, "rgb(255, 255, 255)", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			navigate(t, ctx, p.page("/"+tt.name, "", widget(f.srv.URL, tt.attrs), ""))
			if s := widgetState(t, ctx); s != "live" {
				t.Fatalf("state %q", s)
			}
			titles := evalJS[[]string](t, ctx, shadowTitles)
			if strings.Join(titles, "|") != strings.Join(tt.titles, "|") {
				t.Errorf("titles %q, want %q", titles, tt.titles)
			}
			bg := evalJS[string](t, ctx, `getComputedStyle(document.querySelector("#w").shadowRoot.querySelector(".herald")).backgroundColor`)
			if bg != tt.bg {
				t.Errorf("background %s, want %s", bg, tt.bg)
			}
			imgs := evalJS[int](t, ctx, `document.querySelector("#w").shadowRoot.querySelectorAll("img").length`)
			if imgs != tt.images {
				t.Errorf("%d images, want %d", imgs, tt.images)
			}
			// Light DOM untouched: the partner's page sees no widget markup.
			if n := evalJS[int](t, ctx, `document.querySelectorAll(".herald, .item").length`); n != 0 {
				t.Errorf("%d widget elements leaked into the page's DOM", n)
			}
			if tt.name == "CardsDark" {
				date := evalJS[string](t, ctx, `document.querySelector("#w").shadowRoot.querySelector(".date").textContent`)
				if date != "27 november 2026" {
					t.Errorf("Swedish date %q", date)
				}
			}
			shot := screenshot(t, ctx, "widget-"+tt.name+".png")
			if *updateScreenshot && tt.name == "CardsDark" {
				writeDocScreenshot(t, ctx, f, p)
			}
			_ = shot
		})
	}
}

// writeDocScreenshot writes docs/widget.png: the widget in both layouts
// on one partner page.
func writeDocScreenshot(t *testing.T, ctx context.Context, f *embedFixture, p *partnerSite) {
	t.Helper()
	// The example article's illustration, for a picture worth showing.
	img, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "articles", "images", "harbour-workshop.png"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(f.dir, "images", "pic.png"), string(img))
	if _, err := chromedp.Call(ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	body := `<div style="display:grid;grid-template-columns:1fr 1fr;gap:24px;max-width:1100px">` +
		`<section><h2>List, light</h2>` + widget(f.srv.URL, `data-tags="wp4,wp2" data-limit="3" data-theme="light" data-subscribe="on"`) + `</section>` +
		`<section><h2>Cards, dark</h2><div data-herald-feed data-tags="wp4,wp2" data-limit="4" data-layout="cards" data-theme="dark"></div></section></div>`
	navigate(t, ctx, p.page("/doc", `<style>body{font-family:Georgia,serif;margin:24px;background:#f3efe4}</style>`, body, ""))
	widgetState(t, ctx)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Array.from(document.querySelectorAll("[data-herald-feed]")).every(e => e.getAttribute("data-herald-state") === "live")`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // lazy images
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(testenv.RepoRoot(t), "docs", "widget.png")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}

// TestWidgetHostileTitle: an article titled like markup is shown as text
// and runs nothing; a javascript: link is not a link.
func TestWidgetHostileTitle(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	p := newPartner(t)
	ctx := browsertest.New(t, browsertest.Options{})
	navigate(t, ctx, p.page("/xss", "", widget(f.srv.URL, `data-tags="xss"`), ""))
	if s := widgetState(t, ctx); s != "live" {
		t.Fatalf("state %q", s)
	}
	titles := evalJS[[]string](t, ctx, shadowTitles)
	if len(titles) != 1 || titles[0] != `<img src=x onerror="window.__pwned=1">` {
		t.Errorf("titles %q", titles)
	}
	// Visible as text: it has a box and no element was made from it.
	vis := evalJS[bool](t, ctx, `(() => { const e = document.querySelector("#w").shadowRoot.querySelector(".title"); const r = e.getBoundingClientRect(); return r.width > 50 && r.height > 5 && e.children.length === 0 })()`)
	if !vis {
		t.Error("hostile title not visible as text")
	}
	summary := evalJS[string](t, ctx, `document.querySelector("#w").shadowRoot.querySelector(".summary").textContent`)
	if summary != `<script>window.__pwned=2</script><b>bold?</b>` {
		t.Errorf("summary %q", summary)
	}
	if n := evalJS[int](t, ctx, `document.querySelector("#w").shadowRoot.querySelectorAll("img, script, b, a[href^='javascript']").length`); n != 0 {
		t.Errorf("%d elements made from feed text or unsafe links", n)
	}
	// The feed replaced the javascript: link with the article's page.
	if href := evalJS[string](t, ctx, `document.querySelector("#w").shadowRoot.querySelector(".title").href`); href != f.url("/articles/hostile") {
		t.Errorf("link %q", href)
	}
	time.Sleep(300 * time.Millisecond) // a failed image would fire onerror by now
	if pwned := evalJS[string](t, ctx, `typeof window.__pwned`); pwned != "undefined" {
		t.Errorf("window.__pwned is %s: feed text ran as script", pwned)
	}
	screenshot(t, ctx, "widget-hostile-title.png")
}

// TestWidgetDistrustsFeed: the widget checks what it gets even when the
// feed is hostile (a compromised or impersonated server): javascript: and
// data: links are not links, images from elsewhere are not loaded, fields
// of the wrong type are skipped, bad dates are left out.
func TestWidgetDistrustsFeed(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "application/feed+json")
		fmt.Fprint(w, `{"version": "https://jsonfeed.org/version/1.1", "items": [
			{"id": "1", "url": "javascript:window.__pwned=4", "title": "<img src=x onerror=window.__pwned=5>",
			 "summary": "<svg onload=window.__pwned=6>", "image": "javascript:window.__pwned=7", "date_published": "2026-11-27T10:00:00Z"},
			{"id": "2", "url": "https://example.org/", "title": {"toString": "x"}},
			{"id": "3", "url": " data:text/html,<script>window.__pwned=8</script>", "title": "Data link"},
			{"id": "4", "url": "https://example.org/ok", "title": "Fine", "image": "https://tracker.example/pixel.png", "date_published": "garbage"}
		]}`)
	})
	mux.Handle("/", f.srv.Config.Handler) // the loader and bundle, from this origin
	evil := httptest.NewServer(mux)
	t.Cleanup(evil.Close)
	p := newPartner(t)
	ctx := browsertest.New(t, browsertest.Options{})
	navigate(t, ctx, p.page("/evil", "", widget(evil.URL, `data-limit="10"`), ""))
	if s := widgetState(t, ctx); s != "live" {
		t.Fatalf("state %q", s)
	}
	got := evalJS[[]string](t, ctx, `Array.from(document.querySelector("#w").shadowRoot.querySelectorAll("li.item")).map(li => {
		const a = li.querySelector(".title");
		return [a.tagName, a.textContent, a.href || "", li.querySelectorAll("img").length, li.querySelector("time") ? "date" : "nodate"].join(" | ");
	})`)
	want := []string{
		"SPAN | <img src=x onerror=window.__pwned=5> |  | 0 | date",
		"SPAN | Data link |  | 0 | nodate",
		"A | Fine | https://example.org/ok | 0 | nodate",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	time.Sleep(300 * time.Millisecond)
	if pwned := evalJS[string](t, ctx, `typeof window.__pwned`); pwned != "undefined" {
		t.Errorf("window.__pwned is %s", pwned)
	}
}

// TestWidgetCachedWhenHeraldDown: after one load, with Herald stopped, a
// reload shows the last good items from localStorage. The feed is served
// with no-cache here so the browser's HTTP cache cannot answer for it:
// what shows is the widget's own copy. Without any copy it renders nothing
// and warns on the console.
func TestWidgetCachedWhenHeraldDown(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{feedCache: "no-cache"})
	p := newPartner(t)
	ctx := browsertest.New(t, browsertest.Options{})
	url := p.page("/cached", "", widget(f.srv.URL, `data-tags="wp4" data-limit="3"`), "")
	navigate(t, ctx, url)
	if s := widgetState(t, ctx); s != "live" {
		t.Fatalf("first load: state %q", s)
	}
	live := evalJS[[]string](t, ctx, shadowTitles)
	f.srv.CloseClientConnections()
	f.srv.Close()

	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if s := widgetState(t, ctx); s != "cached" {
		t.Fatalf("after Herald stopped: state %q, want cached", s)
	}
	cached := evalJS[[]string](t, ctx, shadowTitles)
	if len(live) != 3 || strings.Join(cached, "|") != strings.Join(live, "|") {
		t.Errorf("cached titles %q, live %q", cached, live)
	}
	screenshot(t, ctx, "widget-cached.png")

	// Another widget (another feed URL) never loaded before: nothing.
	messages := consoleLog(t, ctx)
	navigate(t, ctx, p.page("/nocache", "", widget(f.srv.URL, `data-tags="wp2"`), ""))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#w")?.getAttribute("data-herald-state") === "unavailable"`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("uncached widget with Herald down did not give up: %v", err)
	}
	state := evalJS[string](t, ctx, `String(document.querySelector("#w").getAttribute("data-herald-state"))`)
	if state != "null" && state != "unavailable" {
		t.Errorf("uncached widget with Herald down: state %s", state)
	}
	if n := evalJS[int](t, ctx, `document.querySelector("#w").shadowRoot ? document.querySelector("#w").shadowRoot.childNodes.length : 0`); n != 0 {
		t.Errorf("uncached widget rendered %d nodes", n)
	}
	if text := evalJS[string](t, ctx, `document.body.innerText`); strings.Contains(strings.ToLower(text), "error") || strings.Contains(text, "unavailable") {
		t.Errorf("error text on the partner page: %q", text)
	}
	warned := false
	for _, m := range messages() {
		warned = warned || strings.HasPrefix(m, "warning: Herald widget:")
	}
	if !warned {
		t.Errorf("no console warning; console: %q", messages())
	}
}

// consoleLog collects the tab's console messages ("type: text") until
// the test ends.
func consoleLog(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	cctx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	var msgs []string
	seq := chromedp.Console(cctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range seq {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, string(m.Type)+": "+m.Text+" ("+m.URL+")")
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}

// computedStylesJS reads the styles that matter of the widget's parts.
const computedStylesJS = `(() => {
  const r = document.querySelector("#w").shadowRoot, out = {};
  for (const sel of [".herald", ".title", ".date", ".summary", "input", "button"]) {
    const e = r.querySelector(sel);
    if (!e) { out[sel] = "missing"; continue; }
    const cs = getComputedStyle(e);
    out[sel] = ["color", "font-size", "font-family", "font-weight", "line-height", "background-color", "margin-top",
      "padding-top", "text-transform", "letter-spacing", "text-decoration-line", "border-top-width", "display"]
      .map(p => p + ":" + cs.getPropertyValue(p)).join("; ");
  }
  return out;
})()`

// TestWidgetIsolation: the partner's hostile CSS does not change the
// widget, and the widget renders styled under a strict CSP that allows
// no inline style or script.
func TestWidgetIsolation(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	p := newPartner(t)
	ctx := browsertest.New(t, browsertest.Options{})
	attrs := `data-tags="wp4" data-limit="3" data-theme="light" data-subscribe="on"`
	navigate(t, ctx, p.page("/plain", "", widget(f.srv.URL, attrs), ""))
	widgetState(t, ctx)
	plain := evalJS[map[string]string](t, ctx, computedStylesJS)
	for sel, v := range plain {
		if v == "missing" {
			t.Fatalf("%s missing from the widget", sel)
		}
	}
	if !strings.Contains(plain[".title"], "font-weight:600") || !strings.Contains(plain[".title"], "color:rgb(29, 35, 48)") {
		t.Fatalf("widget unstyled: %s", plain[".title"])
	}

	t.Run("HostileCSS", func(t *testing.T) {
		hostile := `<style>* { color: red !important; font-size: 40px !important; font-family: "Comic Sans MS", fantasy !important; line-height: 3 !important; text-transform: uppercase !important; letter-spacing: 5px !important }
		div, ul, li, a, p, span, time, form, input, button { margin: 30px !important; padding: 30px !important; background: lime !important; display: inline !important }</style>`
		navigate(t, ctx, p.page("/hostile", hostile, widget(f.srv.URL, attrs), ""))
		widgetState(t, ctx)
		got := evalJS[map[string]string](t, ctx, computedStylesJS)
		for sel := range plain {
			if got[sel] != plain[sel] {
				t.Errorf("%s changed by the page's CSS:\n got %s\nwant %s", sel, got[sel], plain[sel])
			}
		}
		// The partner's own text did get the hostile style: the test is real.
		if c := evalJS[string](t, ctx, `getComputedStyle(document.querySelector("h1")).color`); c != "rgb(255, 0, 0)" {
			t.Errorf("page h1 colour %s: hostile CSS not applied", c)
		}
		screenshot(t, ctx, "widget-hostile-css.png")
	})

	t.Run("StrictCSP", func(t *testing.T) {
		csp := fmt.Sprintf("default-src 'none'; script-src %s; connect-src %s; style-src 'self'", f.srv.URL, f.srv.URL)
		messages := consoleLog(t, ctx)
		navigate(t, ctx, p.page("/csp", `<link rel="stylesheet" href="/partner.css">`, widget(f.srv.URL, attrs), csp))
		if s := widgetState(t, ctx); s != "live" {
			t.Fatalf("state %q under CSP", s)
		}
		got := evalJS[map[string]string](t, ctx, computedStylesJS)
		for sel := range plain {
			if got[sel] != plain[sel] {
				t.Errorf("%s styled differently under CSP:\n got %s\nwant %s", sel, got[sel], plain[sel])
			}
		}
		if n := evalJS[int](t, ctx, `document.querySelector("#w").shadowRoot.adoptedStyleSheets.length`); n != 1 {
			t.Errorf("adoptedStyleSheets: %d", n)
		}
		if bg := evalJS[string](t, ctx, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(255, 251, 232)" {
			t.Errorf("partner's own stylesheet not applied (%s): CSP page broken", bg)
		}
		screenshot(t, ctx, "widget-strict-csp.png")
		// No violation but the blocked image (this policy has no img-src;
		// the widget drops an image that fails to load).
		time.Sleep(300 * time.Millisecond)
		for _, m := range messages() {
			if strings.Contains(m, "Content Security Policy") && !strings.Contains(m, "img-src") && !strings.Contains(m, "/media/") {
				t.Errorf("CSP violation: %s", m)
			}
		}
		if n := evalJS[int](t, ctx, `document.querySelector("#w").shadowRoot.querySelectorAll("img").length`); n != 0 {
			t.Errorf("blocked image kept: %d", n)
		}
	})
}

// TestFrameInBrowser: the iframe embed renders with JavaScript off in a
// partner page from another origin when embed.allowed_origins allows it
// ("*" or that origin), and is refused (the browser shows its error page,
// nothing of ours) when the partner's origin is not on the list.
func TestFrameInBrowser(t *testing.T) {
	tests := []struct {
		name    string
		origins func(partner string) []string
		allowed bool
	}{
		{"AnyOrigin", func(string) []string { return []string{"*"} }, true},
		{"ListedOrigin", func(p string) []string { return []string{"https://elsewhere.example", p} }, true},
		{"ErrOtherOrigin", func(string) []string { return []string{"http://other.example"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPartner(t)
			f := newEmbedFixture(t, embedSetup{allowedOrigins: tt.origins(p.srv.URL)})
			ctx := browsertest.New(t, browsertest.Options{DisableJavaScript: true})
			src := f.url("/embed/frame?tags=wp4&limit=2&theme=dark&lang=de")
			navigate(t, ctx, p.page("/frame", "", `<script>document.title = "script ran"</script>`+
				`<iframe id="f" src="`+src+`" title="News" width="700" height="420"></iframe>`, ""))
			if title := evalJS[string](t, ctx, `document.title`); title != "Partner" {
				t.Fatalf("page title %q: JavaScript is not off", title)
			}
			var child *cdp.Frame
			for range 50 {
				tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
				if err != nil {
					t.Fatal(err)
				}
				if len(tree.FrameTree.ChildFrames) == 1 {
					child = tree.FrameTree.ChildFrames[0].Frame
					if child.URL == src || child.UnreachableURL != "" {
						break
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			if child == nil {
				t.Fatal("no child frame")
			}
			nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("#f")))
			if err != nil || len(nodes) != 1 || nodes[0].ContentDocument == nil {
				t.Fatalf("iframe node: %v", err)
			}
			tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			text, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("body"), chromedp.FromNode(nodes[0].ContentDocument)))
			if err != nil {
				t.Fatal(err)
			}
			if tt.allowed {
				if child.URL != src || child.UnreachableURL != "" {
					t.Errorf("frame at %q (unreachable %q)", child.URL, child.UnreachableURL)
				}
				want := "WP4 partners meet in Aalborg\n27. November 2026\n\nSummary of WP4 partners meet in Aalborg\n\nWP4 baseline report published"
				if !strings.HasPrefix(text, want) || strings.Contains(text, "voucher") {
					t.Errorf("frame text %q, want it to start %q", text, want)
				}
				screenshot(t, ctx, "frame-"+tt.name+".png")
				return
			}
			if child.URL != "chrome-error://chromewebdata/" || child.UnreachableURL != src {
				t.Errorf("frame from a disallowed origin loaded: url %q unreachable %q", child.URL, child.UnreachableURL)
			}
			if strings.Contains(text, "WP4") {
				t.Errorf("refused frame shows our content: %q", text)
			}
		})
	}
}

// TestBuilderInBrowser: /embed under the pages' CSP shows a live preview
// (the real widget), and changing options updates the preview, the
// snippets and the iframe preview.
func TestBuilderInBrowser(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	ctx := browsertest.New(t, browsertest.Options{})
	messages := consoleLog(t, ctx)
	navigate(t, ctx, f.url("/embed?tags=wp4&limit=2"))
	const preview = `document.querySelector("#preview [data-herald-feed]")`
	previewTitles := `Array.from(` + preview + `.shadowRoot.querySelectorAll(".title")).map(e => e.textContent).join("|")`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](preview+`?.getAttribute("data-herald-state") === "live"`)); err != nil {
		t.Fatalf("preview did not render: %v; console %q", err, messages())
	}
	if got := evalJS[string](t, ctx, previewTitles); got != "WP4 partners meet in Aalborg|WP4 baseline report published" {
		t.Errorf("preview titles %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input[name=tags][value=wp4]`)),
		chromedp.Click(chromedp.CSS(`input[name=tags][value=wp2]`)),
		chromedp.Click(chromedp.CSS(`input[name=layout][value=cards]`)),
		chromedp.Click(chromedp.CSS(`input[name=images][value=on]`)),
	); err != nil {
		t.Fatal(err)
	}
	script, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const v = document.querySelector("#snippet-script").value; return v.includes('data-tags="wp2"') && v.includes('data-layout="cards"') && v.includes('data-images="off"') ? v : null })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("snippet not updated: %v", err)
	}
	if !strings.Contains(script, `<script src="`+f.srv.URL+`/embed.js" async></script>`) {
		t.Errorf("script snippet %q", script)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](preview+`?.getAttribute("data-herald-state") === "live" && `+previewTitles+` === "Cluster managers train in Göteborg|Flanders matchmaking in Gent"`)); err != nil {
		t.Errorf("preview not updated: %v (%q)", err, evalJS[string](t, ctx, previewTitles))
	}
	if src := evalJS[string](t, ctx, `document.querySelector("#frame-preview").getAttribute("src")`); !strings.Contains(src, "tags=wp2&") || !strings.Contains(src, "layout=cards") {
		t.Errorf("iframe preview src %q", src)
	}
	if form := evalJS[string](t, ctx, `document.querySelector("#snippet-form").value`); !strings.Contains(form, `name="tag" value="wp2"`) {
		t.Errorf("form snippet %q", form)
	}
	if loc := evalJS[string](t, ctx, `location.search`); !strings.Contains(loc, "tags=wp2") {
		t.Errorf("location %q: the options are not in the address", loc)
	}
	for _, m := range messages() {
		if strings.Contains(m, "favicon.ico") {
			continue // not ours
		}
		if strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "error") {
			t.Errorf("console: %s", m)
		}
	}
	screenshot(t, ctx, "builder.png")
}

// subscribeStub stands in for POST /subscribe in front of Herald: it
// records exactly what the embeds send and answers as the subscriber
// surface does (JSON for Accept: application/json, a "check your inbox"
// page for a form; CORS for any origin). The end-to-end test with the real
// surface is TestSubscribeEmbedsCreatePending.
type subscribeStub struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []stubRequest
}

type stubRequest struct {
	method, contentType, accept, origin string
	form                                map[string][]string
	json                                map[string]any
}

func newSubscribeStub(t *testing.T, herald http.Handler) *subscribeStub {
	t.Helper()
	st := &subscribeStub{}
	mux := http.NewServeMux()
	mux.HandleFunc("/subscribe", func(w http.ResponseWriter, r *http.Request) {
		rec := stubRequest{method: r.Method, contentType: r.Header.Get("Content-Type"), accept: r.Header.Get("Accept"), origin: r.Header.Get("Origin")}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch {
		case r.Method == http.MethodOptions:
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Accept")
			w.WriteHeader(http.StatusNoContent)
		case strings.HasPrefix(rec.contentType, "application/json"):
			json.NewDecoder(r.Body).Decode(&rec.json)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status": "ok", "message": "Check your inbox to confirm."}`)
		default:
			r.ParseForm()
			rec.form = r.PostForm
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><title>Check your inbox</title><h1>Check your inbox</h1>`)
		}
		st.mu.Lock()
		st.reqs = append(st.reqs, rec)
		st.mu.Unlock()
	})
	mux.Handle("/", herald)
	st.srv = httptest.NewServer(mux)
	t.Cleanup(st.srv.Close)
	return st
}

func (st *subscribeStub) requests() []stubRequest {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]stubRequest(nil), st.reqs...)
}

// TestSubscribeEmbeds: the widget's form (data-subscribe="on") posts JSON
// with fetch and shows the answer in place; the plain HTML form snippet
// from the builder posts cross-origin and lands on Herald's page.
func TestSubscribeEmbeds(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	stub := newSubscribeStub(t, f.srv.Config.Handler)
	p := newPartner(t)
	ctx := browsertest.New(t, browsertest.Options{})

	t.Run("Widget", func(t *testing.T) {
		navigate(t, ctx, p.page("/sub", "", widget(stub.srv.URL, `data-tags="wp4,wp2" data-limit="1" data-subscribe="on" data-newsletters="monthly"`), ""))
		if s := widgetState(t, ctx); s != "live" {
			t.Fatalf("state %q", s)
		}
		evalJS[bool](t, ctx, `(() => { const r = document.querySelector("#w").shadowRoot; r.querySelector("input[type=email]").value = "ada@partner.example"; r.querySelector("form").requestSubmit(); return true })()`)
		msg, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const t = document.querySelector("#w").shadowRoot.querySelector(".msg").textContent; return t && t !== "…" ? t : null })()`,
			chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil || msg != "Check your inbox to confirm." {
			t.Fatalf("message %q (%v)", msg, err)
		}
		var post *stubRequest
		for _, r := range stub.requests() {
			if r.method == "POST" {
				post = &r
			}
		}
		if post == nil {
			t.Fatal("no POST /subscribe")
		}
		if post.accept != "application/json" || post.origin != p.srv.URL || !strings.HasPrefix(post.contentType, "application/json") {
			t.Errorf("request: %+v", *post)
		}
		if got := fmt.Sprint(post.json); got != "map[email:ada@partner.example language:en newsletters:[monthly] tags:[wp4 wp2] website:]" {
			t.Errorf("JSON sent: %s", got)
		}
		screenshot(t, ctx, "widget-subscribed.png")
	})

	t.Run("PlainForm", func(t *testing.T) {
		_, page := get(t, stub.srv.URL+"/embed?tags=wp4")
		m := regexp.MustCompile(`(?s)<textarea id="snippet-form"[^>]*>(.*?)</textarea>`).FindSubmatch(page)
		if m == nil {
			t.Fatal("no form snippet on the builder")
		}
		// The snippet names site.base_url (Herald itself); the stub is in
		// front of it on another port.
		snippet := strings.ReplaceAll(html.UnescapeString(string(m[1])), f.srv.URL, stub.srv.URL)
		navigate(t, ctx, p.page("/form", "", snippet, ""))
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS("#herald-email"), "grace@partner.example"),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
		); err != nil {
			t.Fatal(err)
		}
		// The submit navigates: poll from Go, across the navigation.
		var loc, h1 string
		for range 100 {
			loc, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
			h1, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("h1")?.textContent || ""`))
			if loc == stub.srv.URL+"/subscribe" && h1 == "Check your inbox" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if loc != stub.srv.URL+"/subscribe" || h1 != "Check your inbox" {
			t.Fatalf("landed on %q (%q)", loc, h1)
		}
		reqs := stub.requests()
		last := reqs[len(reqs)-1]
		if got := fmt.Sprint(last.form); got != "map[email:[grace@partner.example] language:[en] name:[] newsletter:[monthly] tag:[wp4] website:[]]" {
			t.Errorf("form sent: %s", got)
		}
		if last.origin != p.srv.URL {
			t.Errorf("origin %q", last.origin)
		}
	})
}

// TestWidgetGerman: the widget with lang=de shows German text (its
// subscribe form) and German dates in chromium, and the no-script frame
// with lang=de agrees.
func TestWidgetGerman(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	p := newPartner(t)
	ctx := browsertest.New(t, browsertest.Options{Timeout: 120 * time.Second})
	navigate(t, ctx, p.page("/de", "", widget(f.srv.URL, `data-tags="wp4" data-limit="1" data-lang="de" data-subscribe="on"`), ""))
	if s := widgetState(t, ctx); s != "live" {
		t.Fatalf("state %q", s)
	}
	root := `document.querySelector("#w").shadowRoot`
	if date := evalJS[string](t, ctx, root+`.querySelector(".date").textContent`); date != "27. November 2026" {
		t.Errorf("German date %q", date)
	}
	if label := evalJS[string](t, ctx, root+`.querySelector("form label").textContent`); label != "Den Newsletter per E-Mail erhalten" {
		t.Errorf("German label %q", label)
	}
	if button := evalJS[string](t, ctx, root+`.querySelector("form button").textContent`); button != "Abonnieren" {
		t.Errorf("German button %q", button)
	}
	screenshot(t, ctx, "widget-de.png")
	navigate(t, ctx, f.srv.URL+"/embed/frame?tags=wp4&limit=1&lang=de")
	if date := evalJS[string](t, ctx, `document.querySelector(".date").textContent`); date != "27. November 2026" {
		t.Errorf("frame's German date %q", date)
	}
	navigate(t, ctx, f.srv.URL+"/embed/frame?tags=nothing-here&lang=de")
	if empty := evalJS[string](t, ctx, `document.querySelector(".empty").textContent`); empty != "Noch keine Nachrichten." {
		t.Errorf("frame's German empty text %q", empty)
	}
}

// TestWidgetDates: in chromium, the script widget (Intl) and the
// no-script frame (the catalogues) write an article's date alike in every
// shipped language; Finnish writes its month as a number, as its
// catalogue does.
func TestWidgetDates(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	p := newPartner(t)
	ctx := browsertest.New(t, browsertest.Options{Timeout: 120 * time.Second})
	dates := []struct{ lang, want string }{
		{"en", "November 27, 2026"}, {"en-GB", "27 November 2026"}, {"sv", "27 november 2026"}, {"da", "27. november 2026"},
		{"nb", "27. november 2026"}, {"fi", "27.11.2026"}, {"de", "27. November 2026"}, {"nl", "27 november 2026"},
		{"fr", "27 novembre 2026"},
	}
	for _, tc := range dates {
		navigate(t, ctx, p.page("/dates-"+tc.lang, "", widget(f.srv.URL, `data-tags="wp4" data-limit="1" data-lang="`+tc.lang+`"`), ""))
		if s := widgetState(t, ctx); s != "live" {
			t.Fatalf("%s: state %q", tc.lang, s)
		}
		if date := evalJS[string](t, ctx, `document.querySelector("#w").shadowRoot.querySelector(".date").textContent`); date != tc.want {
			t.Errorf("%s: widget date %q, want %q", tc.lang, date, tc.want)
		}
	}
	for _, tc := range dates {
		navigate(t, ctx, f.srv.URL+"/embed/frame?tags=wp4&limit=1&lang="+tc.lang)
		if date := evalJS[string](t, ctx, `document.querySelector(".date").textContent`); date != tc.want {
			t.Errorf("%s: frame date %q, want %q", tc.lang, date, tc.want)
		}
	}
}
