package feed

import (
	"time"

	"github.com/gorilla/feeds"
)

// atomFeed extends gorilla's AtomFeed with xml:lang, several links (self,
// alternate, hub, RFC 5005 paging) and entries that carry categories.
type atomFeed struct {
	feeds.AtomFeed
	Lang    string           `xml:"xml:lang,attr,omitempty"`
	Links   []feeds.AtomLink `xml:"link"`
	Entries []*atomEntry     `xml:"entry"`
}

type atomEntry struct {
	feeds.AtomEntry
	Categories []atomCategory `xml:"category"`
}

// atomCategory: term is the tag's slug, label its name, and scheme the
// tag pages' prefix, so scheme+term is the tag's page.
type atomCategory struct {
	Term   string `xml:"term,attr"`
	Scheme string `xml:"scheme,attr,omitempty"`
	Label  string `xml:"label,attr,omitempty"`
}

func atomDate(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (c *renderContext) atom() *atomFeed {
	f := &atomFeed{
		AtomFeed: feeds.AtomFeed{
			Xmlns:    "http://www.w3.org/2005/Atom",
			Title:    c.title,
			Id:       c.feedID,
			Updated:  atomDate(c.updated),
			Subtitle: c.subtitle,
			// Atom requires an author on the feed or on every entry.
			Author: &feeds.AtomAuthor{AtomPerson: feeds.AtomPerson{Name: c.author}},
		},
		Lang: c.lang,
	}
	f.Links = append(f.Links,
		feeds.AtomLink{Href: cleanText(c.page.SelfURL), Rel: "self", Type: "application/atom+xml"},
		feeds.AtomLink{Href: cleanText(c.page.HTMLURL), Rel: "alternate", Type: "text/html"},
	)
	for _, h := range c.hubs {
		f.Links = append(f.Links, feeds.AtomLink{Href: h, Rel: "hub"})
	}
	for _, l := range c.pagingLinks() {
		f.Links = append(f.Links, feeds.AtomLink{Href: l.href, Rel: l.rel, Type: "application/atom+xml"})
	}
	f.Entries = make([]*atomEntry, len(c.items))
	for i := range c.items {
		it := &c.items[i]
		e := &atomEntry{AtomEntry: feeds.AtomEntry{
			Title:     it.title,
			Id:        it.id,
			Updated:   atomDate(it.updated),
			Published: atomDate(it.published),
			Links:     []feeds.AtomLink{{Href: it.link, Rel: "alternate", Type: "text/html"}},
			Author:    &feeds.AtomAuthor{AtomPerson: feeds.AtomPerson{Name: c.authorOf(it), Email: it.authorEmail}},
		}}
		if it.summary != "" {
			e.Summary = &feeds.AtomSummary{Content: it.summary, Type: "text"}
		}
		if it.content != "" {
			e.Content = &feeds.AtomContent{Content: it.content, Type: "html"}
		}
		if img := it.image; img != nil {
			e.Links = append(e.Links, feeds.AtomLink{Href: img.url, Rel: "enclosure", Type: img.typ})
		}
		for _, t := range it.tags {
			e.Categories = append(e.Categories, atomCategory{Term: t.slug, Scheme: c.base + "/tags/", Label: t.name})
		}
		f.Entries[i] = e
	}
	return f
}
