package feed

import (
	"time"

	"github.com/herald-news/herald/internal/article"
)

// fixedNow is the clock of every test that renders: golden files must not
// depend on when they run.
func fixedNow() time.Time { return time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC) }

func testSite() Site {
	return Site{
		Title:       "Nordic Wire & Co",
		Description: "News from the \"north\" — å ä ö ø æ",
		BaseURL:     "https://news.example.org",
		Language:    "sv",
		Author:      "Redaktionen",
	}
}

// testArticles are three articles covering what the renderers must get
// right: Nordic letters, quotes, markup-looking plain text, tags, a media
// image, an external image and link, root-relative URLs in the body, an
// author with and without email.
func testArticles() []article.Article {
	t0 := time.Date(2024, 3, 14, 9, 30, 0, 0, time.UTC)
	return []article.Article{
		{
			Slug:        "rakfisk-och-ol",
			Title:       `Rakfisk, "öl" & <br> tags i Ålesund`,
			Summary:     "Æble, ø og å: a <b>plain</b> summary.",
			BodyHTML:    `<p>See <a href="/articles/other">the other one</a> and <img src="/media/2024/fisk.jpg" alt="fisk"></p><p>Quote: “smörgåsbord” &amp; more.</p>`,
			AuthorName:  "Åsa Öberg",
			AuthorEmail: "asa@example.org",
			Tags:        []article.Tag{{Name: "Mat & dryck", Slug: "mat-dryck"}, {Name: "Ålesund", Slug: "alesund"}},
			Image:       &article.Image{MediaPath: "2024/fisk.jpg", Alt: "En fisk", Width: 1200, Height: 800},
			Published:   t0,
			Updated:     t0.Add(2 * time.Hour),
		},
		{
			Slug:       "cluster-training",
			Title:      "Cluster training in Tromsø",
			Summary:    "Second summary",
			BodyHTML:   `<p>Body with <a href="https://example.com/x?a=1&amp;b=2">external</a> link.</p>`,
			AuthorName: "Søren Kærgaard",
			Tags:       []article.Tag{{Name: "Cluster training", Slug: "cluster-training"}},
			Image:      &article.Image{URL: "https://cdn.example.com/img/t.png", Width: 640, Height: 480},
			Link:       "https://elsewhere.example.net/post/42",
			Published:  t0.Add(-24 * time.Hour),
			Updated:    t0.Add(-24 * time.Hour),
		},
		{
			Slug:      "plain",
			Title:     "No author, no tags",
			Summary:   "",
			BodyHTML:  "<p>Just text.</p>",
			Published: t0.Add(-48 * time.Hour),
			Updated:   t0.Add(-48 * time.Hour),
		},
	}
}

func testPage(f Format) Page {
	return Page{
		Format:  f,
		SelfURL: "https://news.example.org/feed." + f.Ext() + "?page=2",
		HTMLURL: "https://news.example.org/",
		Number:  2, Size: 3, Total: 9,
		FirstURL: "https://news.example.org/feed." + f.Ext(),
		PrevURL:  "https://news.example.org/feed." + f.Ext(),
		NextURL:  "https://news.example.org/feed." + f.Ext() + "?page=3",
		LastURL:  "https://news.example.org/feed." + f.Ext() + "?page=3",
	}
}
