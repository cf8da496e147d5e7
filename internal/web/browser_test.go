package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/browsertest"
)

// TestPagesInBrowser loads the pages in chromium: the index lists articles
// with the title as text, the article page shows its image at its size,
// and the copy button on /feeds (the only script) works.
func TestPagesInBrowser(t *testing.T) {
	f := newFixture(t)
	ctx := browsertest.New(t, browsertest.Options{})
	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("ol.articles > li").length`))
	if err != nil || n != 20 {
		t.Errorf("articles on the first page = %d (%v)", n, err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("ol.articles h2 a")))
	if err != nil || title != "Why <br> tags matter in Göteborg" {
		t.Errorf("first title = %q (%v)", title, err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Artifact(t, "page-index.jpg", shot)

	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/articles/with-image")); err != nil {
		t.Fatal(err)
	}
	w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("figure img").naturalWidth`))
	if err != nil || w != 40 {
		t.Errorf("image natural width = %d (%v): /media did not serve it", w, err)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(f.srv.URL+"/feeds")); err != nil {
		t.Fatal(err)
	}
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("[data-copy]").hidden`))
	if err != nil || hidden {
		t.Errorf("copy button hidden=%v (%v): copy.js did not run", hidden, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-copy="feed-atom"]`))); err != nil {
		t.Fatal(err)
	}
	sel, err := chromedp.Run(ctx, chromedp.Poll[string](`document.querySelector('[data-copy="feed-atom"]').textContent != "Copy" && document.querySelector('[data-copy="feed-atom"]').textContent`))
	if err != nil || !strings.Contains(sel, "Copied") {
		t.Errorf("after copy: %q (%v)", sel, err)
	}
}
