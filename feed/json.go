package feed

import (
	"github.com/gorilla/feeds"
)

// jsonFeed is gorilla's JSONFeed with items that are never left out: JSON
// Feed requires the array even when it is empty, and gorilla omits it.
type jsonFeed struct {
	feeds.JSONFeed
	Items []*feeds.JSONItem `json:"items"`
}

// json builds a JSON Feed 1.1 document; ids are the same tag: URIs as in
// Atom and RSS.
func (c *renderContext) json() *jsonFeed {
	f := &jsonFeed{JSONFeed: feeds.JSONFeed{
		Version:     "https://jsonfeed.org/version/1.1",
		Title:       c.title,
		Language:    c.lang,
		HomePageUrl: cleanText(c.page.HTMLURL),
		FeedUrl:     cleanText(c.page.SelfURL),
		Description: c.subtitle,
		NextUrl:     cleanText(c.page.NextURL),
		Authors:     []*feeds.JSONAuthor{{Name: c.author}},
	}, Items: make([]*feeds.JSONItem, len(c.items))}
	for _, h := range c.hubs {
		f.Hubs = append(f.Hubs, &feeds.JSONHub{Type: "WebSub", Url: h})
	}
	for i := range c.items {
		it := &c.items[i]
		ji := &feeds.JSONItem{
			Id:            it.id,
			Url:           it.link,
			Title:         it.title,
			ContentHTML:   it.content,
			Summary:       it.summary,
			PublishedDate: &it.published,
			ModifiedDate:  &it.updated,
			Authors:       []*feeds.JSONAuthor{{Name: c.authorOf(it)}},
		}
		if ji.ContentHTML == "" {
			// JSON Feed requires content_html or content_text.
			ji.ContentText = it.summary
			if ji.ContentText == "" {
				ji.ContentText = it.title
			}
		}
		if it.image != nil {
			ji.Image = it.image.url
		}
		for _, t := range it.tags {
			ji.Tags = append(ji.Tags, t.name)
		}
		f.Items[i] = ji
	}
	return f
}
