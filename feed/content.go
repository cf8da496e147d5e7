package feed

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// contentHTML prepares an article body for a feed. Bodies are sanitised
// when stored, but a feed document leaves our site: links and images must
// be absolute (a reader resolves "/media/x.jpg" against its own origin,
// or not at all), and whatever the store holds, nothing that runs script
// may go out (the W3C validator flags it, and RSS carries it in CDATA).
// So the body is re-tokenised: script and style elements, comments, event
// handler attributes and non-http(s)/mailto URLs are dropped, and every
// URL attribute is resolved against page, the article's own page.
func contentHTML(body string, page *url.URL) string {
	body = cleanText(body)
	if body == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(body) + len(body)/8)
	z := html.NewTokenizer(strings.NewReader(body))
	skipping := "" // the raw-text element whose content is being dropped
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return cleanText(b.String())
		case html.TextToken:
			if skipping == "" {
				b.WriteString(html.EscapeString(string(z.Text())))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tn, more := z.TagName()
			name := string(tn)
			if skipping != "" {
				continue
			}
			if drop, withContent := dropElement(name); drop {
				if withContent && tt == html.StartTagToken {
					skipping = name
				}
				continue
			}
			b.WriteByte('<')
			b.WriteString(name)
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				key := string(k)
				val := string(v)
				if strings.HasPrefix(key, "on") || key == "style" {
					continue
				}
				if urlAttr(key) {
					var ok bool
					if val, ok = absoluteURL(val, page); !ok {
						continue
					}
				} else if key == "srcset" {
					val = absoluteSrcset(val, page)
				}
				b.WriteByte(' ')
				b.WriteString(key)
				b.WriteString(`="`)
				b.WriteString(html.EscapeString(val))
				b.WriteByte('"')
			}
			if tt == html.SelfClosingTagToken {
				b.WriteString(" /")
			}
			b.WriteByte('>')
		case html.EndTagToken:
			tn, _ := z.TagName()
			name := string(tn)
			if skipping != "" {
				if name == skipping {
					skipping = ""
				}
				continue
			}
			if drop, _ := dropElement(name); drop {
				continue
			}
			b.WriteString("</")
			b.WriteString(name)
			b.WriteByte('>')
		}
		// Comments and doctypes are dropped: nothing in them is content,
		// and "<!--<script>-->" must not survive as text.
	}
}

// dropElement says whether an element is dropped, and whether its
// content goes with it (void elements have none to skip).
func dropElement(name string) (drop, withContent bool) {
	switch name {
	case "script", "style", "iframe", "object", "noscript", "template", "frameset", "svg", "math":
		return true, true
	case "embed", "base", "link", "meta", "frame":
		return true, false
	}
	return false, false
}

func urlAttr(key string) bool {
	switch key {
	case "href", "src", "poster", "cite", "action", "formaction", "longdesc", "background":
		return true
	}
	return false
}

// absoluteURL resolves ref against page; ok is false for URLs that must
// not go out (unparsable, or a scheme other than http, https, mailto).
func absoluteURL(ref string, page *url.URL) (string, bool) {
	ref = strings.TrimSpace(ref)
	if strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "mailto:") {
		return ref, true
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "":
	case "http", "https", "mailto":
		return ref, true
	default:
		return "", false
	}
	return page.ResolveReference(u).String(), true
}

// absoluteSrcset resolves each candidate URL of a srcset attribute.
func absoluteSrcset(v string, page *url.URL) string {
	parts := strings.Split(v, ",")
	out := parts[:0]
	for _, p := range parts {
		fields := strings.Fields(p)
		if len(fields) == 0 {
			continue
		}
		u, ok := absoluteURL(fields[0], page)
		if !ok {
			continue
		}
		fields[0] = u
		out = append(out, strings.Join(fields, " "))
	}
	return strings.Join(out, ", ")
}
