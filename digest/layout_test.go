package digest_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
)

// imgArticle stores an article with an image of the given size (0: none).
func (e *env) imgArticle(t testing.TB, slug, title string, published time.Time, w, h int, tags ...string) {
	t.Helper()
	a := &article.Article{Slug: slug, Title: title, Published: published, Source: article.SourceAPI, ContentHash: slug,
		Summary:    "Summary of " + title + ". " + strings.Repeat("Partners from six regions met to compare notes. ", 4),
		AuthorName: "Liesbeth Van den Broeck"}
	for _, tg := range tags {
		a.Tags = append(a.Tags, article.Tag{Name: strings.ToUpper(tg[:1]) + tg[1:], Slug: tg})
	}
	if w > 0 {
		a.Image = &article.Image{MediaPath: "images/" + slug + ".png", Width: w, Height: h}
	}
	if _, err := e.st.UpsertArticle(context.Background(), a, published); err != nil {
		t.Fatal(err)
	}
}

// planAll plans the December run and returns its full variant.
func planAll(t *testing.T, e *env, mod func(*digest.Config)) *digest.Variant {
	t.Helper()
	s := e.service(t, nil, mod)
	ctx := context.Background()
	run, err := s.PlanSlot(ctx, "monthly", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := e.st.Variant(ctx, run.ID, digest.VariantAll)
	if err != nil || !ok {
		t.Fatalf("variant: %v %v", ok, err)
	}
	return v
}

// between returns s from the first from up to the next to.
func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i+len(from):], to)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+len(from)+j]
}

func TestLayout(t *testing.T) {
	day := 24 * time.Hour
	t.Run("OKLeadIsNewestWithImage", func(t *testing.T) {
		e := newEnv(t)
		now := e.clock.Now()
		e.imgArticle(t, "newest", "Newest without image", now.Add(-1*day), 0, 0)
		e.imgArticle(t, "pictured", "Pictured story", now.Add(-5*day), 1600, 900)
		e.imgArticle(t, "older", "Older pictured story", now.Add(-9*day), 800, 600)
		v := planAll(t, e, nil)
		lead := between(v.HTML, "In this issue", "Also in this issue")
		if !strings.Contains(lead, `<h2`) || !strings.Contains(between(lead, "<h2", "</h2>"), "Pictured story") {
			t.Errorf("lead is not the newest pictured article:\n%s", lead)
		}
		// The lead image: width attribute, fluid but never wider, height
		// following the aspect ratio, linked to the article, with alt text.
		want := `<a href="https://news.example.org/articles/pictured"><img src="https://news.example.org/media/images/pictured.png" alt="Pictured story" width="552" height="311" style="display:block;width:100%;max-width:552px;height:auto;border:0;"/></a>`
		if !strings.Contains(v.HTML, want) {
			t.Errorf("lead image markup: want\n%s\nin\n%s", want, lead)
		}
		// The rest: a compact list with linked thumbnails, one headline link each.
		thumb := `<a href="https://news.example.org/articles/older"><img src="https://news.example.org/media/images/older.png" alt="Older pictured story" width="96" height="72" style="display:block;width:100%;max-width:96px;height:auto;border:0;"/></a>`
		if !strings.Contains(v.HTML, thumb) {
			t.Errorf("thumbnail markup: want %s", thumb)
		}
		if n := strings.Count(v.HTML, `aria-label="Read more: `); n != 1 {
			t.Errorf("%d Read more buttons, want 1 (the lead's)", n)
		}
		if !strings.Contains(v.HTML, `aria-label="Read more: Pictured story"`) {
			t.Error("Read more does not name its article")
		}
		// Every <img> has alt text and a width attribute.
		for _, img := range regexp.MustCompile(`<img [^>]*>`).FindAllString(v.HTML, -1) {
			if !strings.Contains(img, ` alt="`) || !strings.Contains(img, ` width="`) || !strings.Contains(img, "height:auto") {
				t.Errorf("image without alt, width or height:auto: %s", img)
			}
		}
	})
	t.Run("OKKeptRemoteImages", func(t *testing.T) {
		// Remote images show Herald's kept copies: the lead crop (a
		// portrait cut square) and the square thumbnail. One not kept
		// yet is left out.
		e := newEnv(t)
		now := e.clock.Now()
		ctx := context.Background()
		remote := func(slug, title, url string, published time.Time) {
			a := &article.Article{Slug: slug, Title: title, Published: published, Source: article.SourceAPI, ContentHash: slug,
				Image: &article.Image{URL: url, Alt: "Photo for " + title}}
			if _, err := e.st.UpsertArticle(ctx, a, published); err != nil {
				t.Fatal(err)
			}
		}
		remote("portrait", "Portrait story", "https://photos.example.net/portrait.jpg", now.Add(-1*day))
		remote("wide", "Wide story", "https://photos.example.net/wide.jpg", now.Add(-2*day))
		remote("pending", "Pending story", "https://photos.example.net/never.jpg", now.Add(-3*day))
		r := func(p string, w, h int) article.Rendition {
			return article.Rendition{Path: "/media/u/" + p, Width: w, Height: h}
		}
		for url, k := range map[string]*article.Kept{
			"https://photos.example.net/portrait.jpg": {Original: r("p.jpg", 800, 1200), Sizes: []article.Rendition{r("p-600.jpg", 600, 900)},
				Lead: r("pl.jpg", 800, 800), Thumb: r("pt.jpg", 192, 192)},
			"https://photos.example.net/wide.jpg": {Original: r("w.jpg", 3000, 1000), Sizes: []article.Rendition{r("w-600.jpg", 600, 200), r("w-1200.jpg", 1200, 400)},
				Lead: r("wl.jpg", 1200, 675), Thumb: r("wt.jpg", 192, 192)},
		} {
			if _, err := e.st.KeepImage(ctx, url, k, now); err != nil {
				t.Fatal(err)
			}
		}
		v := planAll(t, e, nil)
		for _, want := range []string{
			`<a href="https://news.example.org/articles/portrait"><img src="https://news.example.org/media/u/pl.jpg" alt="Photo for Portrait story" width="552" height="552" style="display:block;width:100%;max-width:552px;height:auto;border:0;"/></a>`,
			`<a href="https://news.example.org/articles/wide"><img src="https://news.example.org/media/u/wt.jpg" alt="Photo for Wide story" width="96" height="96" style="display:block;width:100%;max-width:96px;height:auto;border:0;"/></a>`,
		} {
			if !strings.Contains(v.HTML, want) {
				t.Errorf("HTML lacks\n%s", want)
			}
		}
		if strings.Contains(v.HTML, "photos.example.net") {
			t.Error("the mail names a remote image")
		}
		if !strings.Contains(v.HTML, "Pending story") {
			t.Error("the article whose image is pending is missing")
		}
	})
	t.Run("OKLeadIsNewestWithoutImages", func(t *testing.T) {
		e := newEnv(t)
		now := e.clock.Now()
		e.imgArticle(t, "b", "Second story", now.Add(-5*day), 0, 0)
		e.imgArticle(t, "a", "First story", now.Add(-2*day), 0, 0)
		v := planAll(t, e, nil)
		if !strings.Contains(between(v.HTML, "<h2", "</h2>"), "First story") {
			t.Errorf("lead is not the newest article")
		}
	})
	t.Run("OKSections", func(t *testing.T) {
		e := newEnv(t)
		now := e.clock.Now()
		e.imgArticle(t, "lead", "Lead story", now.Add(-1*day), 1200, 630, "events")
		e.imgArticle(t, "ev", "An event", now.Add(-2*day), 0, 0, "events", "ports")
		e.imgArticle(t, "port", "A port", now.Add(-3*day), 0, 0, "ports")
		e.imgArticle(t, "misc", "Something else", now.Add(-4*day), 0, 0, "misc")
		e.nl.Sections = []digest.Section{{Title: "Ports", Tags: []string{"ports"}}, {Title: "Events", Tags: []string{"events"}}, {Title: "Empty", Tags: []string{"none"}}}
		v := planAll(t, e, nil)
		ports, events, more := between(v.HTML, ">Ports</h3>", "</h3>"), between(v.HTML, ">Events</h3>", "</h3>"), between(v.HTML, ">More news</h3>", "</body>")
		// An article goes into the first section whose tags it has.
		if !strings.Contains(ports, "An event") || !strings.Contains(ports, "A port") || strings.Contains(ports, "Something else") {
			t.Errorf("Ports section:\n%s", ports)
		}
		if events != "" {
			t.Errorf("an empty Events section is shown:\n%s", events)
		}
		if strings.Contains(v.HTML, ">Empty</h3>") {
			t.Error("a section without articles is shown")
		}
		if !strings.Contains(more, "Something else") {
			t.Errorf("More news lacks the unmatched article:\n%s", more)
		}
	})
	t.Run("OKPreheaderDefault", func(t *testing.T) {
		e := newEnv(t)
		now := e.clock.Now()
		for i := range 8 {
			e.imgArticle(t, fmt.Sprintf("s%d", i), fmt.Sprintf("Story %d", i), now.Add(-time.Duration(i+1)*day), 0, 0)
		}
		v := planAll(t, e, nil)
		body := v.HTML[strings.Index(v.HTML, "<body"):]
		m := regexp.MustCompile(`<div style="display:none;mso-hide:all;">([^<&]*)`).FindStringSubmatch(body)
		if m == nil || !strings.HasPrefix(m[1], "Story 0 · Story 1 · +6 more") {
			t.Errorf("preheader %q", m)
		}
		if i, j := strings.Index(body, "display:none"), strings.Index(body, "<table"); i < 0 || i > j {
			t.Error("the preheader is not the body's first content")
		}
		if v.Subject != "Cluster Bridge Monthly — December 2026" {
			t.Errorf("subject %q", v.Subject)
		}
	})
	t.Run("OKPreheaderAndSubjectTemplates", func(t *testing.T) {
		e := newEnv(t)
		e.imgArticle(t, "only", "The only story", e.clock.Now().Add(-day), 0, 0)
		e.nl.Subject = "{{.Lead.Title}} — {{.Newsletter.Title}}"
		e.nl.Preheader = "Read {{.Lead.Title}} and more"
		v := planAll(t, e, nil)
		if v.Subject != "The only story — Cluster Bridge Monthly" || !strings.Contains(v.HTML, "Read The only story and more") {
			t.Errorf("subject %q; preheader missing", v.Subject)
		}
	})
	t.Run("OKBrand", func(t *testing.T) {
		e := newEnv(t)
		e.imgArticle(t, "only", "The only story", e.clock.Now().Add(-day), 0, 0)
		v := planAll(t, e, func(c *digest.Config) { c.Site.Accent = "#b4461a"; c.Site.Logo = "/media/logo.png" })
		for _, want := range []string{`src="https://news.example.org/media/logo.png" alt="Herald News"`, `bgcolor="#b4461a"`, `solid #b4461a`} {
			if !strings.Contains(v.HTML, want) {
				t.Errorf("HTML lacks %s", want)
			}
		}
	})
	t.Run("OKText", func(t *testing.T) {
		e := newEnv(t)
		e.imgArticle(t, "only", "The only story", e.clock.Now().Add(-day), 0, 0)
		v := planAll(t, e, nil)
		for _, l := range strings.Split(v.Text, "\n") {
			if len([]rune(l)) > 78 && strings.Contains(l, " ") {
				t.Errorf("text line of %d characters: %q", len([]rune(l)), l)
			}
		}
		if !strings.Contains(v.Text, "\n-- \n") {
			t.Error(`text lacks the signature separator "-- "`)
		}
		if !strings.Contains(v.Text, "View in your browser:") {
			t.Error("text lacks the browser link")
		}
	})
}

// TestDigestSize: a 20-article digest with images stays well below
// Gmail's 102 KB clipping.
func TestDigestSize(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	for i := range 20 {
		e.imgArticle(t, fmt.Sprintf("story-%02d", i), fmt.Sprintf("Regional cluster story number %d with a longer headline", i),
			now.Add(-time.Duration(i+1)*time.Hour), 1200, 630, "ports")
	}
	v := planAll(t, e, nil)
	t.Logf("20-article digest: %d bytes of HTML", len(v.HTML))
	if len(v.HTML) >= 60*1024 {
		t.Errorf("20-article digest HTML is %d bytes, want < 60 KB", len(v.HTML))
	}
}
