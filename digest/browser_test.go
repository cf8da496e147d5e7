package digest_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
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
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/internal/confined"
	"github.com/herald-news/herald/internal/imagefetch"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store/sqlite"
)

// mailPage serves one digest's HTML as mail clients would render it, and
// the images it names: the shipped example images plus generated ones of
// other shapes (portrait, square), under /media/images/ as a content
// folder's and under /remote/ as another site's, and the kept copies of
// the remote ones under /media/u/ from the store.
type mailPage struct {
	srv  *httptest.Server
	mu   sync.Mutex
	html string
	st   *sqlite.Store
}

func newMailPage(t *testing.T) *mailPage {
	t.Helper()
	p := &mailPage{}
	examples := filepath.Join("..", "examples", "articles", "images")
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/media/images/")
		if !ok {
			name, ok = strings.CutPrefix(r.URL.Path, "/remote/")
		}
		if file, kept := strings.CutPrefix(r.URL.Path, media.Prefix); kept {
			p.serveKept(w, r, file)
			return
		}
		switch {
		case r.URL.Path == "/digest.html":
			p.mu.Lock()
			defer p.mu.Unlock()
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(p.html))
		case ok && generated[name] != [2]int{}:
			sz := generated[name]
			w.Header().Set("Content-Type", "image/png")
			w.Write(genPNG(sz[0], sz[1]))
		case ok:
			http.ServeFile(w, r, filepath.Join(examples, filepath.Base(name)))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// generated are the images of other shapes than the examples', by name.
var generated = map[string][2]int{"portrait.png": {600, 900}, "square.png": {400, 400}, "wide.png": {1600, 500}}

// genPNG is a w×h PNG with a gradient.
func genPNG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), 0x80, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// contentFolder is a content folder holding the images under
// /media/images/: the shipped examples and the generated ones.
func contentFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	imgs := filepath.Join(dir, "images")
	if err := os.MkdirAll(imgs, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for name, sz := range generated {
		files[name] = genPNG(sz[0], sz[1])
	}
	for _, name := range []string{"aalborg-partner-meeting.png", "baseline-report-cover.png", "harbour-workshop.png"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "articles", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(imgs, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serveKept serves a kept image from the store, as serve does.
func (p *mailPage) serveKept(w http.ResponseWriter, r *http.Request, file string) {
	hash, width, _, ok := media.ParseName(file)
	p.mu.Lock()
	st := p.st
	p.mu.Unlock()
	if !ok || st == nil {
		http.NotFound(w, r)
		return
	}
	f, err := st.MediaBytes(r.Context(), hash, width)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Write(f.Data)
}

func (p *mailPage) set(html string) {
	p.mu.Lock()
	p.html = html
	p.mu.Unlock()
}

// browserDigest composes the example-like digest with images served by
// p, in the newsletter's language (en, or language[0]).
func browserDigest(t *testing.T, p *mailPage, language ...string) *digest.Variant {
	return browserDigestLed(t, p, "", language...)
}

// Kinds of article image in the browser digest.
const (
	remoteImage = "remote" // from another site, fetched
	fileImage   = "file"   // the content folder's
	uploadImage = "upload" // uploaded in the editor
)

// browserDigestLed is browserDigest whose lead story has an image of
// the kind lead ("": the remote landscape), and the lead's title.
func browserDigestLed(t *testing.T, p *mailPage, lead string, language ...string) *digest.Variant {
	t.Helper()
	e := newEnv(t)
	p.mu.Lock()
	p.st = e.st
	p.mu.Unlock()
	now := e.clock.Now()
	day := 24 * time.Hour
	ms := &media.Service{Store: e.st}
	// Every image is kept (the lead cropped to at most 16:9 and never
	// taller than wide, thumbnails square): fetched from another site,
	// read from the content folder, or an upload's original.
	up, _, err := ms.Upload(context.Background(), "tall-upload.png", bytes.NewReader(genPNG(700, 1100)), media.Actor{Email: "editor@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	arts := []struct {
		slug, title, img string
		tags             []string
		kind             string
	}{
		{"hamburg-study-visit", "Study visit: what Göteborg and Gent learned from Hamburg", "harbour-workshop.png", []string{"ports"}, remoteImage},
		{"harbour-workshop-arhus", "Harbour workshop in Århus", "portrait.png", []string{"ports"}, remoteImage},
		{"local-portrait", "A portrait from the content folder", "portrait.png", nil, fileImage},
		{"uploaded-portrait", "An uploaded portrait", strings.TrimPrefix(up.URL(), "/media/"), []string{"events"}, uploadImage},
		{"partner-meeting-aalborg", "Partner meeting in Aalborg", "aalborg-partner-meeting.png", []string{"events"}, fileImage},
		{"cluster-baseline-report", "The cluster baseline report is out", "baseline-report-cover.png", nil, fileImage},
		{"interview", "Interview: Liesbeth Van den Broeck on matchmaking across the North Sea", "square.png", nil, fileImage},
		{"voucher-call", "Innovation voucher call 2026 opens", "wide.png", nil, remoteImage},
		{"training", "Cluster manager training", "", []string{"events"}, ""},
	}
	leadAt := -1 // the newest article with an image leads
	for i, a := range arts {
		if lead != "" && a.kind == lead && leadAt < 0 {
			leadAt = i
		}
	}
	for i, a := range arts {
		published := now.Add(-time.Duration(i+1) * day)
		if i == leadAt {
			published = now.Add(-time.Hour)
		}
		ar := &article.Article{Slug: a.slug, Title: a.title, Published: published, Source: article.SourceAPI,
			ContentHash: a.slug, AuthorName: "Liesbeth Van den Broeck",
			Summary: "Partners from six regions compared how their ports, universities and companies work together, and what each will try next."}
		for _, tg := range a.tags {
			ar.Tags = append(ar.Tags, article.Tag{Name: tg, Slug: tg})
		}
		alt := "Illustration for " + a.title
		switch a.kind {
		case remoteImage:
			ar.Image = &article.Image{URL: p.srv.URL + "/remote/" + a.img, Alt: alt}
		case fileImage:
			ar.Image = &article.Image{MediaPath: "images/" + a.img, Alt: alt}
		case uploadImage:
			ar.Image = &article.Image{MediaPath: a.img, Alt: alt}
		}
		if _, err := e.st.UpsertArticle(context.Background(), ar, ar.Published); err != nil {
			t.Fatal(err)
		}
	}
	f := imagefetch.New(imagefetch.Options{AllowPrivate: true})
	defer f.Close()
	k := &imagefetch.Keeper{Fetcher: f, Media: ms, Store: e.st, Content: confined.FS(contentFolder(t))}
	if n, failed, err := k.KeepPending(context.Background()); err != nil || n != 8 || len(failed) != 0 {
		t.Fatalf("keeping the images: %d kept, want 8; %v, %v", n, failed, err)
	}
	e.nl.Sections = []digest.Section{{Title: "Ports and logistics", Tags: []string{"ports"}}, {Title: "Events", Tags: []string{"events"}}}
	if len(language) > 0 {
		e.nl.Language = language[0]
	}
	v := planAll(t, e, func(c *digest.Config) { c.Site.BaseURL = p.srv.URL })
	if strings.Contains(v.HTML, "/media/images/") || strings.Contains(v.HTML, strings.TrimSuffix(up.URL(), ".png")+"-") {
		t.Error("a content-folder image or an upload is mailed as it is, not as its kept crop")
	}
	return v
}

var styleRe = regexp.MustCompile(`(?is)<style[^>]*>.*?</style>`)

// geometryJS measures the rendered mail: horizontal overflow, image
// aspect ratios, the preheader, and overlapping text or images.
const geometryJS = `(() => {
	const out = [], de = document.documentElement, vw = de.clientWidth;
	if (de.scrollWidth > vw) out.push("scrolls horizontally: " + de.scrollWidth + " > " + vw);
	const imgs = Array.from(document.images);
	for (const img of imgs) {
		const r = img.getBoundingClientRect();
		if (r.right > vw + 0.5 || r.left < -0.5) out.push("image " + img.src + " spans " + r.left + ".." + r.right);
		if (img.complete && img.naturalWidth > 0) {
			const want = img.naturalWidth / img.naturalHeight, got = r.width / r.height;
			if (Math.abs(got / want - 1) > 0.02) out.push("image " + img.src + " aspect " + got.toFixed(3) + ", source " + want.toFixed(3));
			// A kept image: the lead no wider than 16:9, none taller than wide.
			if (img.src.includes("/media/u/") && (got < 0.98 || (img === imgs[0] && got > 16 / 9 * 1.02)))
				out.push("kept image " + img.src + " has aspect " + got.toFixed(3));
		} else if (%[1]v) {
			out.push("image " + img.src + " did not load");
		}
	}
	// The first text of the body is the preheader, and it is not rendered.
	const tw = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode: n => n.data.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP});
	const first = tw.nextNode();
	if (!first || !first.data.trim().startsWith(%[2]q)) out.push("first text is " + JSON.stringify(first && first.data.slice(0, 60)));
	else if (first.parentElement.getClientRects().length > 0) out.push("the preheader is visible");
	// Boxes of every visible text run and image: none may overlap another.
	const boxes = [];
	let n;
	while ((n = tw.nextNode())) {
		const range = document.createRange();
		range.selectNodeContents(n);
		for (const r of range.getClientRects()) if (r.width > 1 && r.height > 1) boxes.push({r, what: n.data.trim().slice(0, 30)});
	}
	for (const img of imgs) {
		const r = img.getBoundingClientRect();
		if (r.width > 1 && r.height > 1) boxes.push({r, what: "img " + img.alt.slice(0, 30)});
	}
	for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
		const a = boxes[i].r, b = boxes[j].r;
		const x = Math.min(a.right, b.right) - Math.max(a.left, b.left), y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
		if (x > 1 && y > 1) out.push("overlap: " + JSON.stringify(boxes[i].what) + " and " + JSON.stringify(boxes[j].what));
	}
	return out;
})()`

// TestBrowserDigestGeometry renders the digest in chromium at phone,
// column and desktop widths, light and dark, with and without its <style>
// (as clients that drop it do), and with images blocked.
func TestBrowserDigestGeometry(t *testing.T) {
	geometry(t, "", "", []int64{375, 600, 800}, []bool{false, true}, []string{"full", "nostyle", "noimages"})
}

// TestBrowserDigestGeometryLocalLeads: a content-folder portrait and an
// uploaded portrait as the lead story are cut square, never taller than
// wide, like a remote one (they are list items in the test above).
func TestBrowserDigestGeometryLocalLeads(t *testing.T) {
	for _, kind := range []string{fileImage, uploadImage} {
		t.Run(kind, func(t *testing.T) {
			geometry(t, "", kind, []int64{375, 600, 800}, []bool{false}, []string{"full"})
		})
	}
}

// TestBrowserDigestGeometryGerman: German's long words ("Weiterlesen",
// "Einstellungen", compound titles) keep the 375 px layout whole.
func TestBrowserDigestGeometryGerman(t *testing.T) {
	geometry(t, "de", "", []int64{375}, []bool{false}, []string{"full", "nostyle"})
}

func geometry(t *testing.T, language, leadKind string, widths []int64, darks []bool, modes []string) {
	p := newMailPage(t)
	var v *digest.Variant
	if language == "" {
		v = browserDigestLed(t, p, leadKind)
	} else {
		v = browserDigestLed(t, p, leadKind, language)
		if !strings.Contains(v.HTML, `lang="`+language+`"`) {
			t.Fatalf("the digest is not in %s", language)
		}
	}
	ctx := browsertest.New(t, browsertest.Options{DisableJavaScript: false, Timeout: 8 * time.Minute})
	lead := map[string]string{"": "Study visit: what Göteborg and Gent learned from Hamburg",
		fileImage: "A portrait from the content folder", uploadImage: "An uploaded portrait"}[leadKind]
	for _, width := range widths {
		for _, dark := range darks {
			for _, mode := range modes {
				name := fmt.Sprintf("%d-%s-%s", width, map[bool]string{false: "light", true: "dark"}[dark], mode)
				t.Run(name, func(t *testing.T) {
					// The personal values as a subscriber sees them.
					html := strings.NewReplacer("~HERALD~greeting_html~", "Hello Åsa,", "~HERALD~unsubscribe_html~", p.srv.URL+"/u",
						"~HERALD~preferences_html~", p.srv.URL+"/p").Replace(v.HTML)
					switch mode {
					case "nostyle":
						html = styleRe.ReplaceAllString(html, "")
						if strings.Contains(html, "<style") {
							t.Fatal("a <style> is left")
						}
					case "noimages":
						// A blocked image: it never loads.
						html = strings.ReplaceAll(html, p.srv.URL+"/media/", "http://127.0.0.1:9/blocked/")
					}
					p.set(html)
					scheme := "light"
					if dark {
						scheme = "dark"
					}
					err := chromedp.Do(ctx,
						chromedp.EmulateViewport(width, 900),
						chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
							_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
								Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
							return err
						}),
						chromedp.Navigate(p.srv.URL+"/digest.html"),
					)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Array.from(document.images).every(i => i.complete)`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
						t.Fatal(err)
					}
					problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(geometryJS, mode != "noimages", lead)))
					if err != nil {
						t.Fatal(err)
					}
					if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
						path := browsertest.Artifact(t, "digest-"+name+".png", shot)
						if os.Getenv("HERALD_DIGEST_SCREENSHOTS") != "" && !dark && mode == "full" && width != 800 {
							// HERALD_DIGEST_SCREENSHOTS=1 go test ./digest -run Geometry refreshes the README's.
							os.WriteFile(filepath.Join("..", "docs", fmt.Sprintf("digest-%d.png", width)), shot, 0o644)
						}
						if len(problems) > 0 {
							t.Logf("screenshot: %s", path)
						}
					}
					for _, pr := range problems {
						t.Error(pr)
					}
				})
			}
		}
	}
}
