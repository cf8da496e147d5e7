package feed

import (
	"html"
	"time"

	"github.com/gorilla/feeds"
)

// rssDoc extends gorilla's <rss> wrapper with the namespaces Herald uses:
// Atom (self, hub and paging links), Dublin Core (dc:creator) and Media RSS
// (lead images with their size).
type rssDoc struct {
	feeds.RssFeedXml
	AtomNS  string      `xml:"xmlns:atom,attr"`
	DCNS    string      `xml:"xmlns:dc,attr"`
	MediaNS string      `xml:"xmlns:media,attr"`
	Channel *rssChannel `xml:"channel"`
}

type rssChannel struct {
	feeds.RssFeed
	AtomLinks []rssAtomLink `xml:"atom:link"`
	Items     []*rssItem    `xml:"item"`
}

// rssAtomLink is atom:link inside RSS: the W3C validator wants rel=self,
// WebSub wants rel=hub, RFC 5005 wants first/next/previous/last.
type rssAtomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
}

type rssItem struct {
	feeds.RssItem
	Categories []rssCategory `xml:"category"`
	Creator    string        `xml:"dc:creator,omitempty"`
	Media      *mediaContent `xml:"media:content"`
}

type rssCategory struct {
	Domain string `xml:"domain,attr,omitempty"`
	Name   string `xml:",chardata"`
}

// mediaContent carries the lead image: unlike <enclosure> it needs no
// byte length (which we do not know) and carries width and height, and it
// is what the common readers look at for a thumbnail.
type mediaContent struct {
	URL         string     `xml:"url,attr"`
	Medium      string     `xml:"medium,attr"`
	Type        string     `xml:"type,attr,omitempty"`
	Width       int        `xml:"width,attr,omitempty"`
	Height      int        `xml:"height,attr,omitempty"`
	Description *mediaText `xml:"media:description"`
}

type mediaText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

// rssDate is RFC 822 as the RSS profile and the W3C validator want it,
// with a four-digit year and a numeric zone.
func rssDate(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

func (c *renderContext) rss() *rssDoc {
	ch := &rssChannel{
		RssFeed: feeds.RssFeed{
			Title:         c.title,
			Link:          cleanText(c.page.HTMLURL),
			Description:   c.description(),
			Language:      c.lang,
			PubDate:       rssDate(c.updated),
			LastBuildDate: rssDate(c.updated),
			Generator:     "Herald",
			Docs:          "https://www.rssboard.org/rss-specification",
		},
	}
	ch.AtomLinks = append(ch.AtomLinks, rssAtomLink{Href: cleanText(c.page.SelfURL), Rel: "self", Type: "application/rss+xml"})
	for _, h := range c.hubs {
		ch.AtomLinks = append(ch.AtomLinks, rssAtomLink{Href: h, Rel: "hub"})
	}
	for _, l := range c.pagingLinks() {
		ch.AtomLinks = append(ch.AtomLinks, rssAtomLink{Href: l.href, Rel: l.rel, Type: "application/rss+xml"})
	}
	ch.Items = make([]*rssItem, len(c.items))
	for i := range c.items {
		it := &c.items[i]
		ri := &rssItem{
			RssItem: feeds.RssItem{
				Title: it.title,
				Link:  it.link,
				// description is HTML in RSS; the summary is plain text.
				Description: html.EscapeString(it.summary),
				Guid:        &feeds.RssGuid{Id: it.id, IsPermaLink: "false"},
				PubDate:     rssDate(it.published),
			},
		}
		if it.content != "" {
			ri.Content = &feeds.RssContent{Content: it.content}
		}
		// RSS's <author> must be an email address; without one the name
		// goes in dc:creator, as the RSS profile recommends.
		if it.authorEmail != "" {
			ri.Author = it.authorEmail
			if it.authorName != "" {
				ri.Author += " (" + it.authorName + ")"
			}
		} else {
			ri.Creator = c.authorOf(it)
		}
		for _, t := range it.tags {
			ri.Categories = append(ri.Categories, rssCategory{Domain: t.url, Name: t.name})
		}
		if img := it.image; img != nil {
			ri.Media = &mediaContent{URL: img.url, Medium: "image", Type: img.typ, Width: img.width, Height: img.height}
			if img.alt != "" {
				ri.Media.Description = &mediaText{Type: "plain", Text: img.alt}
			}
		}
		ch.Items[i] = ri
	}
	return &rssDoc{
		RssFeedXml: feeds.RssFeedXml{Version: "2.0", ContentNamespace: "http://purl.org/rss/1.0/modules/content/"},
		AtomNS:     "http://www.w3.org/2005/Atom",
		DCNS:       "http://purl.org/dc/elements/1.1/",
		MediaNS:    "http://search.yahoo.com/mrss/",
		Channel:    ch,
	}
}

// description is the channel description RSS requires: the site's, else
// its title.
func (c *renderContext) description() string {
	if c.subtitle != "" {
		return c.subtitle
	}
	return c.title
}

type pagingLink struct{ rel, href string }

// pagingLinks are the RFC 5005 links that exist for this page.
func (c *renderContext) pagingLinks() []pagingLink {
	var out []pagingLink
	for _, l := range [...]pagingLink{
		{"first", c.page.FirstURL}, {"previous", c.page.PrevURL},
		{"next", c.page.NextURL}, {"last", c.page.LastURL},
	} {
		if l.href = cleanText(l.href); l.href != "" {
			out = append(out, l)
		}
	}
	return out
}
