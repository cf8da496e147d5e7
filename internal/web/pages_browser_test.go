package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/browsertest"
)

// TestEmbedBuilderFitsPhone: /embed at 390 CSS pixels (a phone held
// upright) scrolls only down: no control, the Theme select among them,
// reaches past the right edge.
func TestEmbedBuilderFitsPhone(t *testing.T) {
	f := newEmbedFixture(t, embedSetup{})
	ctx := browsertest.New(t, browsertest.Options{})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, f.url("/embed"))
	if w := evalJS[int](t, ctx, `document.documentElement.clientWidth`); w != 390 {
		t.Fatalf("viewport %d px wide, want 390", w)
	}
	overflow := evalJS[[]string](t, ctx, `(() => {
		const vw = document.documentElement.clientWidth, out = [];
		if (document.documentElement.scrollWidth > vw) out.push("page scrollWidth " + document.documentElement.scrollWidth);
		for (const e of document.querySelectorAll("main select, main input, main textarea, main button, main label, main iframe")) {
			const r = e.getBoundingClientRect();
			if (r.width > 0 && (r.right > vw || r.left < 0)) out.push((e.id || e.name || e.tagName) + " spans " + Math.round(r.left) + ".." + Math.round(r.right));
		}
		return out;
	})()`)
	if len(overflow) > 0 {
		screenshot(t, ctx, "embed-390.png")
		t.Errorf("wider than 390 px: %s", strings.Join(overflow, "; "))
	}
	if r := evalJS[float64](t, ctx, `document.querySelector("#theme").getBoundingClientRect().right`); r > 390 {
		t.Errorf("Theme select ends at %v px", r)
	}
}

// TestEmbedDatesMatchIntl: for one article the script widget and the
// iframe show the same date, and it is what the browser's
// Intl.DateTimeFormat(lang, {day, month: "long", year}) writes.
func TestEmbedDatesMatchIntl(t *testing.T) {
	noon := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	f := newEmbedFixture(t, embedSetup{articles: []*article.Article{
		{Slug: "first-of-august", Title: "First of August", Summary: "S", BodyHTML: "<p>B</p>", Published: noon(2026, 8, 1), Source: article.SourceAPI},
		{Slug: "late-in-may", Title: "Late in May", Summary: "S", BodyHTML: "<p>B</p>", Published: noon(2026, 5, 24), Source: article.SourceAPI},
	}})
	p := newPartner(t)
	langs := []string{"en", "en-US", "en-GB", "sv", "da", "nb", "de", "nl", "fr"}
	ctx := browsertest.New(t, browsertest.Options{})

	frameDates := map[string][]string{}
	for _, lang := range langs {
		navigate(t, ctx, f.url("/embed/frame?lang="+lang))
		frameDates[lang] = evalJS[[]string](t, ctx, `Array.from(document.querySelectorAll("time.date")).map(e => e.textContent + "|" + e.getAttribute("datetime"))`)
	}
	var body strings.Builder
	for i, lang := range langs {
		fmt.Fprintf(&body, `<div id="w%d" data-herald-feed data-lang="%s"></div>`, i, lang)
	}
	body.WriteString(`<script src="` + f.srv.URL + `/embed.js" async></script>`)
	navigate(t, ctx, p.page("/dates", "", body.String(), ""))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(
		`document.querySelectorAll("[data-herald-state=live]").length === %d`, len(langs)), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("widgets did not render: %v", err)
	}
	for i, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			widget := evalJS[[]string](t, ctx, fmt.Sprintf(`Array.from(document.querySelector("#w%d").shadowRoot.querySelectorAll("time.date")).map(e => e.textContent + "|" + e.dateTime)`, i))
			frame := frameDates[lang]
			if len(frame) != 2 || len(widget) != 2 {
				t.Fatalf("frame %q, widget %q: want two dates each", frame, widget)
			}
			for j := range frame {
				text, iso, _ := strings.Cut(frame[j], "|")
				wtext, _, _ := strings.Cut(widget[j], "|")
				intl := evalJS[string](t, ctx, fmt.Sprintf(`new Intl.DateTimeFormat(%q, {day: "numeric", month: "long", year: "numeric"}).format(new Date(%q))`, lang, iso))
				if text != intl || wtext != intl {
					t.Errorf("%s: frame %q, widget %q, Intl.DateTimeFormat %q", iso, text, wtext, intl)
				}
			}
		})
	}
}
