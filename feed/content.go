package feed

import (
	"bytes"
	"net/url"
	"strings"
	"sync"

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
			// The input was clean, and the tokenizer only adds U+FFFD.
			return b.String()
		case html.TextToken:
			if skipping != "" {
				continue
			}
			// Text as written is kept when it holds no angle bracket (so
			// no markup can hide in it, e.g. inside a <textarea>):
			// re-escaping decoded text costs two copies per token.
			if raw := z.Raw(); !bytes.ContainsAny(raw, "<>") {
				b.Write(raw)
			} else {
				writeEscaped(&b, z.Text())
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
				if bytes.HasPrefix(k, []byte("on")) || string(k) == "style" {
					continue
				}
				if urlAttr(string(k)) {
					val, ok := absoluteURL(string(v), page)
					if !ok {
						continue
					}
					v = []byte(val)
				} else if string(k) == "srcset" {
					v = []byte(absoluteSrcset(string(v), page))
				}
				b.WriteByte(' ')
				b.Write(k)
				b.WriteString(`="`)
				writeEscaped(&b, v)
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

// writeEscaped writes s with &, <, >, " and ' escaped, like
// html.EscapeString, without building an intermediate string.
func writeEscaped(b *strings.Builder, s []byte) {
	last := 0
	for i, c := range s {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		default:
			continue
		}
		b.Write(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.Write(s[last:])
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

// contentMemo remembers prepared bodies by article URL and stored body, so
// a body is tokenised once however many formats and variants carry it. It
// forgets everything past memoSize entries: a bound, not an LRU, since a
// refresh touches the same few hundred articles again.
type contentMemo struct {
	mu sync.Mutex
	m  map[memoKey]string
}

type memoKey struct{ own, body string }

const memoSize = 4096

func (m *contentMemo) content(own, body string, ownURL *url.URL) string {
	if m == nil {
		return contentHTML(body, ownURL)
	}
	key := memoKey{own, body}
	m.mu.Lock()
	out, ok := m.m[key]
	m.mu.Unlock()
	if ok {
		return out
	}
	out = contentHTML(body, ownURL)
	m.mu.Lock()
	if m.m == nil || len(m.m) >= memoSize {
		m.m = make(map[memoKey]string)
	}
	m.m[key] = out
	m.mu.Unlock()
	return out
}
