package feed

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html"
)

// This file holds the judges every rendering test applies: well-formed
// XML or JSON, gofeed parses it, and the rules the W3C Feed Validation
// Service enforces (docs/ARCHITECTURE.md, "Feeds and caching").

const (
	nsAtom    = "http://www.w3.org/2005/Atom"
	nsContent = "http://purl.org/rss/1.0/modules/content/"
	nsDC      = "http://purl.org/dc/elements/1.1/"
	nsMedia   = "http://search.yahoo.com/mrss/"
)

// wellFormed decodes b completely: token by token for XML (strict mode,
// so any illegal character or bad nesting fails), fully for JSON.
func wellFormed(t testing.TB, f Format, b []byte) {
	t.Helper()
	if f == JSON {
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("JSON not well-formed: %v", err)
		}
		return
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("XML not well-formed: %v\n%.2000s", err, b)
		}
	}
}

// parse is gofeed's reading of b: the lenient judge real readers resemble.
func parse(t testing.TB, b []byte) *gofeed.Feed {
	t.Helper()
	fp := gofeed.NewParser()
	feed, err := fp.ParseString(string(b))
	if err != nil {
		t.Fatalf("gofeed: %v\n%.2000s", err, b)
	}
	return feed
}

// noScript asserts that neither the bytes nor any HTML the feed carries
// (content in every format, and RSS's description) has script in it: no
// script or other active element, no event handler attribute, no
// javascript: URL. The W3C validator rejects these.
func noScript(t testing.TB, f Format, b []byte, feed *gofeed.Feed) {
	t.Helper()
	if loc := regexp.MustCompile(`(?i)<script`).FindIndex(b); loc != nil {
		t.Errorf("raw <script in output at %d", loc[0])
	}
	for _, it := range feed.Items {
		htmls := []string{it.Content}
		if f == RSS {
			htmls = append(htmls, it.Description)
		}
		for _, s := range htmls {
			if why := activeHTML(s); why != "" {
				t.Errorf("item %q carries script (%s): %.300q", it.GUID, why, s)
			}
		}
	}
}

// activeHTML says what in an HTML fragment could run script, if anything.
func activeHTML(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "iframe", "object", "embed", "svg", "math":
				return "<" + tok.Data + ">"
			}
			for _, a := range tok.Attr {
				if strings.HasPrefix(a.Key, "on") {
					return a.Key + " attribute"
				}
				if v := strings.ToLower(strings.TrimSpace(a.Val)); strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "vbscript:") {
					return "script URL"
				}
			}
		case html.CommentToken:
			if strings.Contains(strings.ToLower(string(z.Text())), "script") {
				return "script in a comment"
			}
		}
	}
}

type xmlLink struct {
	XMLName xml.Name
	Href    string `xml:"href,attr"`
	Rel     string `xml:"rel,attr"`
	Type    string `xml:"type,attr"`
	Value   string `xml:",chardata"`
}

type rssCheck struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title         string    `xml:"title"`
		Description   string    `xml:"description"`
		Language      string    `xml:"language"`
		PubDate       string    `xml:"pubDate"`
		LastBuildDate string    `xml:"lastBuildDate"`
		Links         []xmlLink `xml:"link"`
		Items         []struct {
			Title       string    `xml:"title"`
			Links       []xmlLink `xml:"link"`
			Description string    `xml:"description"`
			PubDate     string    `xml:"pubDate"`
			Author      string    `xml:"author"`
			Creator     string    `xml:"http://purl.org/dc/elements/1.1/ creator"`
			Content     string    `xml:"http://purl.org/rss/1.0/modules/content/ encoded"`
			Guid        struct {
				Value       string `xml:",chardata"`
				IsPermaLink string `xml:"isPermaLink,attr"`
			} `xml:"guid"`
			Categories []struct {
				Domain string `xml:"domain,attr"`
				Name   string `xml:",chardata"`
			} `xml:"category"`
			Media []struct {
				URL string `xml:"url,attr"`
			} `xml:"http://search.yahoo.com/mrss/ content"`
		} `xml:"item"`
	} `xml:"channel"`
}

type atomCheck struct {
	XMLName xml.Name  `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string    `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	ID      string    `xml:"http://www.w3.org/2005/Atom id"`
	Updated string    `xml:"http://www.w3.org/2005/Atom updated"`
	Title   string    `xml:"http://www.w3.org/2005/Atom title"`
	Authors []string  `xml:"http://www.w3.org/2005/Atom author>name"`
	Links   []xmlLink `xml:"http://www.w3.org/2005/Atom link"`
	Entries []struct {
		ID         string    `xml:"http://www.w3.org/2005/Atom id"`
		Title      string    `xml:"http://www.w3.org/2005/Atom title"`
		Updated    string    `xml:"http://www.w3.org/2005/Atom updated"`
		Published  string    `xml:"http://www.w3.org/2005/Atom published"`
		Authors    []string  `xml:"http://www.w3.org/2005/Atom author>name"`
		Links      []xmlLink `xml:"http://www.w3.org/2005/Atom link"`
		Categories []struct {
			Term   string `xml:"term,attr"`
			Scheme string `xml:"scheme,attr"`
			Label  string `xml:"label,attr"`
		} `xml:"http://www.w3.org/2005/Atom category"`
		Content struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"http://www.w3.org/2005/Atom content"`
	} `xml:"http://www.w3.org/2005/Atom entry"`
}

type jsonCheck struct {
	Version     string `json:"version"`
	Title       string `json:"title"`
	Language    string `json:"language"`
	HomePageURL string `json:"home_page_url"`
	FeedURL     string `json:"feed_url"`
	NextURL     string `json:"next_url"`
	Items       []struct {
		ID            any      `json:"id"`
		URL           string   `json:"url"`
		Title         string   `json:"title"`
		ContentHTML   *string  `json:"content_html"`
		ContentText   *string  `json:"content_text"`
		Image         string   `json:"image"`
		DatePublished string   `json:"date_published"`
		DateModified  string   `json:"date_modified"`
		Tags          []string `json:"tags"`
		Authors       []struct {
			Name string `json:"name"`
		} `json:"authors"`
	} `json:"items"`
}

func absolute(t testing.TB, what, s string) {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" && u.Scheme != "tag" && u.Scheme != "mailto" {
		t.Errorf("%s %q is not an absolute URL", what, s)
	}
}

var rfc822 = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$`)

func rssDateOK(t testing.TB, what, s string) {
	t.Helper()
	if !rfc822.MatchString(s) {
		t.Errorf("%s %q is not an RFC 822 date with a four-digit year", what, s)
	}
	if _, err := time.Parse(time.RFC1123Z, s); err != nil {
		t.Errorf("%s %q: %v", what, s, err)
	}
}

func rfc3339OK(t testing.TB, what, s string) {
	t.Helper()
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		t.Errorf("%s %q is not RFC 3339: %v", what, s, err)
	}
}

// paging is the RFC 5005 links a document is expected to carry.
type paging struct{ first, prev, next, last string }

// w3cRules asserts what the W3C Feed Validation Service enforces on
// feed documents (docs/ARCHITECTURE.md, "Feeds and caching"), plus RFC 5005
// and JSON Feed 1.1 rules.
func w3cRules(t testing.TB, f Format, b []byte, self string, pg paging) {
	t.Helper()
	wellFormed(t, f, b)
	noScript(t, f, b, parse(t, b))
	wantRel := map[string]string{"first": pg.first, "previous": pg.prev, "next": pg.next, "last": pg.last}
	checkLinks := func(links []xmlLink, inRSS bool) {
		t.Helper()
		got := map[string][]string{}
		for _, l := range links {
			if inRSS && l.XMLName.Space != nsAtom {
				continue
			}
			absolute(t, "link rel="+l.Rel, l.Href)
			got[l.Rel] = append(got[l.Rel], l.Href)
		}
		if s := got["self"]; len(s) != 1 || s[0] != self {
			t.Errorf("rel=self = %q, want exactly %q (the served URL)", s, self)
		}
		for rel, want := range wantRel {
			switch g := got[rel]; {
			case want == "" && len(g) > 0:
				t.Errorf("rel=%s = %q, want none", rel, g)
			case want != "" && (len(g) != 1 || g[0] != want):
				t.Errorf("rel=%s = %q, want %q", rel, g, want)
			}
		}
	}
	switch f {
	case RSS:
		var c rssCheck
		if err := xml.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		if c.Version != "2.0" || c.Channel.Title == "" || c.Channel.Description == "" {
			t.Errorf("rss version/title/description missing: %q %q %q", c.Version, c.Channel.Title, c.Channel.Description)
		}
		if c.Channel.Language == "" {
			t.Error("no <language>")
		}
		rssDateOK(t, "channel pubDate", c.Channel.PubDate)
		rssDateOK(t, "channel lastBuildDate", c.Channel.LastBuildDate)
		checkLinks(c.Channel.Links, true)
		for _, it := range c.Channel.Items {
			rssDateOK(t, "item pubDate", it.PubDate)
			if it.Guid.IsPermaLink != "false" || !strings.HasPrefix(it.Guid.Value, "tag:") {
				t.Errorf("guid %q isPermaLink=%q, want a tag: URI and false", it.Guid.Value, it.Guid.IsPermaLink)
			}
			for _, l := range it.Links {
				if l.XMLName.Space == "" {
					absolute(t, "item link", l.Value)
				}
			}
			if it.Author != "" && !regexp.MustCompile(`^\S+@\S+( \(.+\))?$`).MatchString(it.Author) {
				t.Errorf("<author> %q is not an email address", it.Author)
			}
			if it.Author == "" && it.Creator == "" {
				t.Errorf("item %q has neither author nor dc:creator", it.Guid.Value)
			}
			for _, cat := range it.Categories {
				absolute(t, "category domain", cat.Domain)
			}
			for _, m := range it.Media {
				absolute(t, "media:content url", m.URL)
			}
			hrefsAbsolute(t, it.Content)
		}
	case Atom:
		var c atomCheck
		if err := xml.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		if c.ID == "" || c.Title == "" || c.Lang == "" {
			t.Errorf("feed id/title/xml:lang missing: %q %q %q", c.ID, c.Title, c.Lang)
		}
		absolute(t, "feed id", c.ID)
		rfc3339OK(t, "feed updated", c.Updated)
		checkLinks(c.Links, false)
		for _, e := range c.Entries {
			if !strings.HasPrefix(e.ID, "tag:") {
				t.Errorf("entry id %q is not a tag: URI", e.ID)
			}
			rfc3339OK(t, "entry updated", e.Updated)
			rfc3339OK(t, "entry published", e.Published)
			if len(e.Authors) == 0 && len(c.Authors) == 0 {
				t.Errorf("entry %q has no author and neither has the feed", e.ID)
			}
			if len(e.Authors) != 1 || e.Authors[0] == "" {
				t.Errorf("entry %q authors = %q, want one with a name", e.ID, e.Authors)
			}
			alt := 0
			for _, l := range e.Links {
				absolute(t, "entry link", l.Href)
				if l.Rel == "alternate" {
					alt++
				}
			}
			if alt != 1 {
				t.Errorf("entry %q has %d alternate links", e.ID, alt)
			}
			for _, cat := range e.Categories {
				absolute(t, "category scheme", cat.Scheme)
			}
			if e.Content.Value != "" && e.Content.Type != "html" {
				t.Errorf("content type %q", e.Content.Type)
			}
			hrefsAbsolute(t, e.Content.Value)
		}
	case JSON:
		var c jsonCheck
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		if c.Version != "https://jsonfeed.org/version/1.1" || c.Title == "" || c.Language == "" {
			t.Errorf("version/title/language: %q %q %q", c.Version, c.Title, c.Language)
		}
		if c.FeedURL != self {
			t.Errorf("feed_url = %q, want %q", c.FeedURL, self)
		}
		absolute(t, "home_page_url", c.HomePageURL)
		if c.NextURL != pg.next {
			t.Errorf("next_url = %q, want %q", c.NextURL, pg.next)
		}
		if !bytes.Contains(b, []byte(`"items": [`)) {
			t.Error("items array missing")
		}
		for _, it := range c.Items {
			if _, ok := it.ID.(string); !ok {
				t.Errorf("id %v is not a string", it.ID)
			}
			if it.ContentHTML == nil && it.ContentText == nil {
				t.Errorf("item %v has neither content_html nor content_text", it.ID)
			}
			absolute(t, "item url", it.URL)
			if it.Image != "" {
				absolute(t, "image", it.Image)
			}
			rfc3339OK(t, "date_published", it.DatePublished)
			rfc3339OK(t, "date_modified", it.DateModified)
			if len(it.Authors) == 0 {
				t.Errorf("item %v has no authors", it.ID)
			}
			if it.ContentHTML != nil {
				hrefsAbsolute(t, *it.ContentHTML)
			}
		}
	}
}

var urlAttrRE = regexp.MustCompile(`(?i)\b(?:href|src)\s*=\s*"([^"]*)"`)

// hrefsAbsolute asserts every href and src in an HTML fragment is absolute.
func hrefsAbsolute(t testing.TB, html string) {
	t.Helper()
	for _, m := range urlAttrRE.FindAllStringSubmatch(html, -1) {
		absolute(t, "URL in content", strings.ReplaceAll(m[1], "&amp;", "&"))
	}
}
