// Package feed renders Herald's articles as RSS 2.0, Atom 1.0 and JSON
// Feed 1.1 (docs/ARCHITECTURE.md, "Feeds and caching"), and serves them
// from an in-memory cache with strong ETags, gzip and conditional GET.
//
// Rendering is pure: Render turns a Site, a Page and a slice of articles
// into bytes. It wraps the exported structs of github.com/gorilla/feeds,
// extending them where they lack what feed validators and readers need
// (stable ids, atom:link rel=self and paging links, xml:lang, categories,
// dc:creator), and never concatenates markup by hand.
package feed

import (
	"time"

	"github.com/herald-news/herald/internal/article"
)

// Site describes the publication every feed belongs to.
type Site struct {
	Title       string
	Description string
	BaseURL     string // absolute, e.g. "https://news.example.org"; no trailing slash needed
	Language    string // BCP 47, e.g. "en"
	Author      string // fallback author name for articles without one
	Hubs        []string
}

// Format is a feed format.
type Format string

// The formats Herald serves.
const (
	RSS  Format = "rss"
	Atom Format = "atom"
	JSON Format = "json"
)

// Formats lists every format, in the order Refresh renders them.
func Formats() []Format { return []Format{RSS, Atom, JSON} }

// ContentType is the media type a format is served as.
func (f Format) ContentType() string {
	switch f {
	case RSS:
		return "application/rss+xml; charset=utf-8"
	case Atom:
		return "application/atom+xml; charset=utf-8"
	case JSON:
		return "application/feed+json; charset=utf-8"
	}
	return "application/octet-stream"
}

// Ext is the file extension of the format's URLs ("feed." + Ext).
func (f Format) Ext() string { return string(f) }

// Valid reports whether f is a known format.
func (f Format) Valid() bool { return f == RSS || f == Atom || f == JSON }

// Page describes one feed document: which feed it is and where it sits in
// the RFC 5005 page sequence. All URLs are absolute.
type Page struct {
	Format  Format
	Title   string       // empty: Site.Title, plus ": " and the tag name for a tag feed
	SelfURL string       // the URL this document is served at, query included
	HTMLURL string       // the page readers link to: the home page or the tag page
	Tag     *article.Tag // the tag of a tag feed; nil for the site feed
	Number  int          // page number, from 1
	Size    int          // items per page
	Total   int          // items across all pages
	// Paging links (RFC 5005); empty ones are left out.
	FirstURL, PrevURL, NextURL, LastURL string
	Updated                             time.Time // zero: the newest Updated of the items
}
