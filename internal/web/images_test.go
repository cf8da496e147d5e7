package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/article"
)

// TestArticleRemoteImage: an article page shows the kept copy of a remote
// image, with its derivatives as srcset, and nothing while the image is
// not kept yet (docs/ARCHITECTURE.md, "Remote images").
func TestArticleRemoteImage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const kept, pending = "https://photos.example.net/harbour.jpg", "https://photos.example.net/never.jpg"
	for slug, u := range map[string]string{"kept-image": kept, "pending-image": pending} {
		a := &article.Article{Slug: slug, Title: "Story " + slug, BodyHTML: "<p>Body</p>", Published: now.AddDate(0, 0, -2),
			Source: article.SourceAPI, Image: &article.Image{URL: u, Alt: "Alt of " + slug}}
		if _, err := f.store.UpsertArticle(ctx, a, now); err != nil {
			t.Fatal(err)
		}
	}
	r := func(p string, w, h int) article.Rendition {
		return article.Rendition{Path: "/media/u/" + p, Width: w, Height: h}
	}
	k := &article.Kept{Original: r("k.jpg", 1600, 1200), Sizes: []article.Rendition{r("k-600.jpg", 600, 450), r("k-1200.jpg", 1200, 900)},
		Lead: r("kl.jpg", 1200, 900), Thumb: r("kt.jpg", 192, 192)}
	if _, err := f.store.KeepImage(ctx, kept, k, now); err != nil {
		t.Fatal(err)
	}
	_, body := f.get(t, "/articles/kept-image")
	want := `<img src="/media/u/k-1200.jpg" srcset="/media/u/k-600.jpg 600w, /media/u/k-1200.jpg 1200w, /media/u/k.jpg 1600w" sizes="(max-width: 46rem) 100vw, 46rem" alt="Alt of kept-image" width="1600" height="1200">`
	if !strings.Contains(body, want) {
		t.Errorf("kept image: want\n%s\nin\n%s", want, body)
	}
	_, body = f.get(t, "/articles/pending-image")
	if strings.Contains(body, "<img") || strings.Contains(body, "photos.example.net") {
		t.Errorf("a remote image not kept is shown:\n%s", body)
	}
}
