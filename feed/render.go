package feed

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
)

// ErrBadSite: the Site or Page cannot make a valid feed (no base URL,
// unknown format, an empty feed without Updated).
var ErrBadSite = errors.New("feed: invalid site or page")

// Render renders one feed document. Every string from the articles and the
// site is cleaned of what XML cannot carry first, so the output is
// well-formed whatever the articles contain.
func Render(site Site, p Page, items []article.Article) ([]byte, error) {
	return render(site, p, items, nil)
}

// render is Render with a memo of prepared bodies (nil: none), which the
// handler keeps so three formats and many variants tokenise a body once.
func render(site Site, p Page, items []article.Article, memo *contentMemo) ([]byte, error) {
	c, err := newRenderContext(site, p, items, memo)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(2048 + 3*c.bodyBytes)
	switch p.Format {
	case RSS:
		err = writeXML(&buf, c.rss())
	case Atom:
		err = writeXML(&buf, c.atom())
	case JSON:
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err = enc.Encode(c.json())
	default:
		return nil, fmt.Errorf("%w: format %q", ErrBadSite, p.Format)
	}
	if err != nil {
		return nil, fmt.Errorf("feed: render %s: %w", p.Format, err)
	}
	return buf.Bytes(), nil
}

func writeXML(buf *bytes.Buffer, v any) error {
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(buf)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.WriteByte('\n')
	return nil
}

// renderContext is the format-independent view of one document: cleaned
// strings, absolute URLs, stable ids.
type renderContext struct {
	memo      *contentMemo
	site      Site
	page      Page
	base      string // BaseURL without trailing slash
	host      string
	title     string
	subtitle  string
	lang      string
	author    string // the feed's author: Site.Author, else Site.Title
	feedID    string
	updated   time.Time
	hubs      []string
	items     []item
	bodyBytes int
}

// item is one article, ready for any format.
type item struct {
	id          string // tag: URI, stable across renders and formats
	link        string
	title       string
	summary     string
	content     string
	authorName  string
	authorEmail string
	tags        []tagRef
	image       *imageRef
	published   time.Time
	updated     time.Time
}

type tagRef struct{ name, slug, url string }

type imageRef struct {
	url, typ, alt string
	width, height int
}

func newRenderContext(site Site, p Page, items []article.Article, memo *contentMemo) (*renderContext, error) {
	if !p.Format.Valid() {
		return nil, fmt.Errorf("%w: format %q", ErrBadSite, p.Format)
	}
	base := strings.TrimRight(cleanText(site.BaseURL), "/")
	bu, err := url.Parse(base)
	if err != nil || (bu.Scheme != "http" && bu.Scheme != "https") || bu.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q must be an absolute http(s) URL", ErrBadSite, site.BaseURL)
	}
	c := &renderContext{
		memo:     memo,
		site:     site,
		page:     p,
		base:     base,
		host:     bu.Hostname(),
		subtitle: cleanText(site.Description),
		lang:     cleanText(site.Language),
		author:   cleanText(site.Author),
	}
	if c.author == "" {
		c.author = cleanText(site.Title)
	}
	c.title = cleanText(p.Title)
	if c.title == "" {
		c.title = cleanText(site.Title)
		if p.Tag != nil {
			c.title += ": " + cleanText(p.Tag.Name)
		}
	}
	if c.page.HTMLURL == "" {
		c.page.HTMLURL = base + "/"
	}
	if c.page.SelfURL == "" {
		c.page.SelfURL = base + "/feed." + p.Format.Ext()
	}
	c.feedID = feedID(c.page.SelfURL)
	for _, h := range site.Hubs {
		if h = cleanText(h); h != "" {
			c.hubs = append(c.hubs, h)
		}
	}
	c.items = make([]item, len(items))
	for i := range items {
		c.items[i] = c.item(&items[i])
		c.bodyBytes += len(c.items[i].content)
		if c.items[i].updated.After(c.updated) {
			c.updated = c.items[i].updated
		}
	}
	if !p.Updated.IsZero() {
		c.updated = p.Updated.UTC().Truncate(time.Second)
	}
	if c.updated.IsZero() {
		return nil, fmt.Errorf("%w: an empty feed needs Page.Updated", ErrBadSite)
	}
	return c, nil
}

// feedID is the feed's Atom id: its URL without the page parameter, so
// every page of a paged feed names the same feed (RFC 5005).
func feedID(self string) string {
	u, err := url.Parse(self)
	if err != nil {
		return self
	}
	q := u.Query()
	if !q.Has("page") {
		return self
	}
	q.Del("page")
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *renderContext) item(a *article.Article) item {
	slug := cleanText(a.Slug)
	own := c.base + "/articles/" + url.PathEscape(slug)
	ownURL, _ := url.Parse(own)
	it := item{
		id:          c.itemID(a, slug),
		link:        own,
		title:       cleanText(a.Title),
		summary:     cleanText(a.Summary),
		content:     c.memo.content(own, a.BodyHTML, ownURL),
		authorName:  cleanText(a.AuthorName),
		authorEmail: cleanText(a.AuthorEmail),
		published:   a.Published.UTC().Truncate(time.Second),
		updated:     a.Updated.UTC().Truncate(time.Second),
	}
	if l, ok := absoluteURL(cleanText(a.Link), ownURL); ok && l != "" && !strings.HasPrefix(l, "mailto:") {
		it.link = l
	}
	if it.updated.Before(it.published) {
		it.updated = it.published
	}
	for _, t := range a.Tags {
		s := cleanText(t.Slug)
		it.tags = append(it.tags, tagRef{name: cleanText(t.Name), slug: s, url: c.base + "/tags/" + url.PathEscape(s)})
	}
	if img := a.Image; img != nil {
		ref := &imageRef{alt: cleanText(img.Alt), width: max(img.Width, 0), height: max(img.Height, 0)}
		if k := img.Kept; k != nil {
			// Herald's own copy of a remote image (docs/ARCHITECTURE.md,
			// "Remote images"), at most 1200 px wide.
			r := article.Displayed(k, 1200)
			ref.url, ref.width, ref.height = c.base+cleanText(r.Path), r.Width, r.Height
		} else if mp := cleanText(img.MediaPath); mp != "" {
			ref.url = c.base + (&url.URL{Path: "/media/" + strings.TrimLeft(mp, "/")}).EscapedPath()
		} else if u, ok := absoluteURL(cleanText(img.URL), ownURL); ok && u != "" && !strings.HasPrefix(u, "mailto:") {
			ref.url = u
		}
		if ref.url != "" {
			ref.typ = imageType(ref.url)
			it.image = ref
		}
	}
	return it
}

// itemID is the article's stable id (RFC 4151 tag URI), the same in every
// format: the one the store minted at first publication, whatever the
// article's date or the site's host are now (docs/ARCHITECTURE.md,
// "Feeds and caching"). gorilla/feeds would invent a random urn:uuid per render. An
// article the store has not given one (a pure Render) gets one from the
// site's host and its first_seen, else published, date; one minted before
// the store's authority was fixed gets the site's host.
func (c *renderContext) itemID(a *article.Article, slug string) string {
	if id := cleanText(a.FeedID); id != "" {
		return article.CompleteFeedID(id, c.host)
	}
	date := a.FirstSeen
	if date.IsZero() {
		date = a.Published
	}
	return article.FeedID(c.host, date, slug)
}

// imageType guesses an image's media type from its extension, without
// consulting the system's MIME tables (which differ between machines and
// would make the output machine-dependent).
func imageType(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	switch strings.ToLower(path.Ext(u)) {
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".avif":
		return "image/avif"
	case ".svg":
		return "image/svg+xml"
	}
	return ""
}

// authorOf is the name an item is credited to: its author, else the site's.
func (c *renderContext) authorOf(it *item) string {
	if it.authorName != "" {
		return it.authorName
	}
	return c.author
}
