package digest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/lang"
	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/templates"
	"github.com/inbucket/html2text"
	"github.com/microcosm-cc/bluemonday"
	"github.com/vanng822/go-premailer/premailer"
)

// Personal values are filled in per recipient by substitution into the
// encoded message (mail.Prepare once, Render per recipient): these are
// their slot names. A marker is "~HERALD~name~", the form internal/mail's
// Slot uses.
const (
	SlotName            = "name"
	SlotEmail           = "email"
	SlotMessageID       = "msgid"
	SlotGreeting        = "greeting"      // "Hello Anna," — text part
	SlotGreetingHTML    = "greeting_html" // the same, HTML-escaped
	SlotUnsubscribe     = "unsubscribe"
	SlotUnsubscribeHTML = "unsubscribe_html"
	SlotPreferences     = "preferences"
	SlotPreferencesHTML = "preferences_html"
	SlotUnsubscribeMail = "unsubscribe_mail" // the mailto: alternative; "" when none
)

// slot is the marker for a personal value.
func slot(name string) string { return mail.Slot(name) }

// marks are the slot markers of one composition. Composing uses markers
// with a random key, which no article, name or template can contain, and
// finish turns them into mail.Slot markers once the text is final,
// escaping anything in the rest of the text that could read as a marker.
// So personalisation cannot be triggered from content: a title holding
// "~HERALD~name~" stays text.
type marks struct{ prefix string }

func newMarks() marks {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return marks{prefix: "~Z" + hex.EncodeToString(b[:]) + "~"}
}

func (m marks) slot(name string) string { return m.prefix + name + "~" }

// finish replaces m's markers in s with mail.Slot markers and, in the text
// between them, breaks every "HERALD" that touches a '~' (or a marker) with
// brk, so that the only "~HERALD~" sequences left are the markers'.
func (m marks) finish(s, brk string) string {
	parts := strings.Split(s, m.prefix)
	var b strings.Builder
	b.Grow(len(s))
	for i, p := range parts {
		if i > 0 {
			name, rest, ok := strings.Cut(p, "~")
			if ok && name != "" {
				b.WriteString(slot(name))
				p = rest
			}
		}
		b.WriteString(breakMarkers(p, brk))
	}
	return b.String()
}

const markerWord = "HERALD"

// breakMarkers replaces each markerWord in seg that starts or ends seg or
// has a '~' beside it with brk.
func breakMarkers(seg, brk string) string {
	if !strings.Contains(seg, markerWord) {
		return seg
	}
	var b strings.Builder
	last := 0
	for from := 0; ; {
		i := strings.Index(seg[from:], markerWord)
		if i < 0 {
			break
		}
		i += from
		j := i + len(markerWord)
		if i == 0 || seg[i-1] == '~' || j == len(seg) || seg[j] == '~' {
			b.WriteString(seg[last:i])
			b.WriteString(brk)
			last = j
		}
		from = j
	}
	b.WriteString(seg[last:])
	return b.String()
}

// How breakMarkers breaks the word: invisibly, as an entity in HTML and
// with a word joiner (U+2060) in text.
const (
	brkHTML = "HERAL&#68;"
	brkText = "HERAL\u2060D"
)

// contentWidth is the width of the digest's content column: 600 px less
// the padding on both sides.
const contentWidth = 552

// composer renders digests: email/digest.html (required) and
// email/digest.txt (else html2text of the HTML).
type composer struct {
	html   *htmltemplate.Template
	text   *texttemplate.Template // nil: html2text
	site   Site
	base   string
	policy *bluemonday.Policy
	lang   *lang.Catalog
}

// Email is what email/digest.html and digest.txt are executed with.
type Email struct {
	// L speaks the variant's language: {{.L.T "digest.read_more"}}.
	L          *lang.Localizer
	Site       Site
	Newsletter *Newsletter
	Run        *Run
	Subject    string
	Period     string // "December 2026" (monthly or rarer schedules) or "1 December 2026"
	Intro      string
	Articles   []EmailArticle // every article in the run's order
	// The editorial layout of Articles: the lead story (the newest
	// article with an image, else the newest; nil when there are none),
	// the newsletter's sections that have articles, and the rest.
	Lead      *EmailArticle
	Sections  []EmailSection
	More      []EmailArticle
	Preheader string   // the hidden inbox preview
	Topics    []string // topic variant: the subscriber's tags that matched; empty: every article
	Web       bool     // the archive page: no personal links
	// Absolute URLs; LogoURL is "" without site.logo.
	SiteURL, ViewURL, SubscribeURL, LogoURL string
	// Personal values: slot markers in mail, empty on the web page.
	Greeting, UnsubscribeURL, PreferencesURL string
	// MSOOpen and MSOClose stand where the Outlook-only fixed-width table
	// opens and closes; compose writes the conditional comments there
	// after sanitising (the sanitiser drops comments, so templates and
	// articles cannot bring their own).
	MSOOpen, MSOClose string
	Brand             templates.Brand // for the shared partials of email/layout.html
}

// SiteLink is the site's title linking home, for a translated sentence.
func (d *Email) SiteLink() htmltemplate.HTML {
	return htmltemplate.HTML(`<a href="` + htmltemplate.HTMLEscapeString(d.SiteURL) + `" style="color:#5b6675;">` +
		htmltemplate.HTMLEscapeString(d.Site.Title) + `</a>`)
}

// SubscribeLink is label linking to the subscribe page, for a translated
// sentence.
func (d *Email) SubscribeLink(label string) htmltemplate.HTML {
	return htmltemplate.HTML(`<a class="link" href="` + htmltemplate.HTMLEscapeString(d.SubscribeURL) + `" style="color:` +
		htmltemplate.HTMLEscapeString(d.Site.Accent) + `;">` + htmltemplate.HTMLEscapeString(label) + `</a>`)
}

// EmailSection is one titled group of articles.
type EmailSection struct {
	Title    string
	Articles []EmailArticle
}

// EmailArticle is one article as a digest shows it.
type EmailArticle struct {
	Title, URL, Date, Author, Summary string
	Tags                              []article.Tag
	Image                             *EmailImage // at the content width
	Thumb                             *EmailImage // at thumbWidth, for the compact list
	published                         time.Time
}

// EmailImage is an image with absolute URL and display size.
type EmailImage struct {
	URL, Alt      string
	Width, Height int // Height 0 when the source size is unknown
}

// thumbWidth is the width of a compact list item's thumbnail.
const thumbWidth = 96

func newComposer(cfg Config) (*composer, error) {
	c := &composer{site: cfg.Site, base: strings.TrimRight(cfg.Site.BaseURL, "/")}
	if c.site.Accent == "" {
		c.site.Accent = DefaultAccent
	}
	src, err := fs.ReadFile(cfg.Templates, "email/digest.html")
	if err != nil {
		return nil, fmt.Errorf("templates: email/digest.html: %w", err)
	}
	c.html, err = htmltemplate.New("digest.html").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("templates: email/digest.html: %w", err)
	}
	// The shared partials (masthead, button, footer); an operator's
	// digest.html may use them or not.
	if layout, err := fs.ReadFile(cfg.Templates, "email/layout.html"); err == nil {
		if _, err := c.html.New("layout.html").Parse(string(layout)); err != nil {
			return nil, fmt.Errorf("templates: email/layout.html: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("templates: email/layout.html: %w", err)
	}
	htmlSrc := src
	src, err = fs.ReadFile(cfg.Templates, "email/digest.txt")
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err == nil && overriddenAlone(htmlSrc, src):
		// templates.dir replaced digest.html but not digest.txt: the
		// shipped text would not match it, so the text comes from the HTML.
	case err != nil:
		return nil, fmt.Errorf("templates: email/digest.txt: %w", err)
	default:
		c.text, err = texttemplate.New("digest.txt").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("templates: email/digest.txt: %w", err)
		}
	}
	c.policy = emailPolicy()
	if c.lang, err = lang.Load(cfg.Templates, cfg.Languages, cfg.Site.Language); err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	return c, nil
}

// variantLangSep joins a variant's article selection and its language in
// its key ("all.de", "a:3,7.sv"): URL-safe, and a key without it (every
// key before languages) is the newsletter's language.
const variantLangSep = "."

// variantKey is the key of selection key in language code; the
// newsletter's own language keeps the bare key.
func variantKey(key, code, newsletterLang string) string {
	if code == "" || code == newsletterLang || key == "" {
		return key
	}
	return key + variantLangSep + code
}

// SplitVariantKey undoes variantKey: the article selection and the
// language ("" for the newsletter's), "all.de" → "all", "de". The archive
// (internal/web) reads a key's language with it.
func SplitVariantKey(key string) (sel, code string) {
	if i := strings.LastIndex(key, variantLangSep); i >= 0 {
		return key[:i], key[i+1:]
	}
	return key, ""
}

// newsletterLang is the language of n's issues for subscribers who chose none.
func (c *composer) newsletterLang(n *Newsletter) string {
	if n.Language != "" {
		return c.lang.Resolve(n.Language)
	}
	return c.lang.Default()
}

// langOf is the language a subscriber's issue is composed in.
func (c *composer) langOf(n *Newsletter, code string) string {
	if code == "" || !c.lang.Has(code) {
		return c.newsletterLang(n)
	}
	return c.lang.Resolve(code)
}

// overriddenAlone reports an operator's digest.html with the shipped
// digest.txt.
func overriddenAlone(html, text []byte) bool {
	shippedHTML, err1 := fs.ReadFile(templates.Embedded(), "email/digest.html")
	shippedText, err2 := fs.ReadFile(templates.Embedded(), "email/digest.txt")
	return err1 == nil && err2 == nil && !bytes.Equal(html, shippedHTML) && bytes.Equal(text, shippedText)
}

// emailPolicy keeps what a table-layout email body needs and drops script,
// event handlers, forms, frames and unsafe URLs, whatever a template or an
// article brought in.
func emailPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("table", "thead", "tbody", "tfoot", "tr", "td", "th", "div", "span", "p", "br", "hr",
		"h1", "h2", "h3", "h4", "strong", "b", "em", "i", "small", "ul", "ol", "li", "a", "img", "center", "font",
		"blockquote", "time")
	p.AllowAttrs("class", "style", "align", "valign", "width", "height", "bgcolor", "border", "cellpadding",
		"cellspacing", "role", "lang", "dir", "id", "title", "datetime", "color", "aria-label", "aria-hidden").Globally()
	p.AllowAttrs("href", "target").OnElements("a")
	p.AllowAttrs("src", "alt").OnElements("img")
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowRelativeURLs(true) // slot markers stand in for personal URLs
	return p
}

var bodyRe = regexp.MustCompile(`(?is)(<body[^>]*>)(.*)(</body>)`)

// sanitizeBody runs the policy over the document's body only: the head
// holds the template's CSS, which premailer inlines next.
func (c *composer) sanitizeBody(doc string) string {
	m := bodyRe.FindStringSubmatchIndex(doc)
	if m == nil {
		return c.policy.Sanitize(doc)
	}
	return doc[:m[4]] + c.policy.Sanitize(doc[m[4]:m[5]]) + doc[m[5]:]
}

// compose renders one variant of a run: subject, HTML with CSS inlined,
// and text. arts are the variant's articles in the run's order.
func (c *composer) compose(n *Newsletter, run *Run, arts []article.Article, key string, web bool, topics ...string) (*Variant, error) {
	sel, code := SplitVariantKey(key)
	if code == "" {
		code = c.newsletterLang(n)
	}
	l := c.lang.L(code)
	d := &Email{L: l,
		Site: c.site, Newsletter: n, Run: run, Period: period(l, n, run.SlotAt), Topics: topics, Web: web,
		SiteURL: c.base + "/", ViewURL: fmt.Sprintf("%s/newsletters/%s/%d", c.base, url.PathEscape(n.ID), run.ID),
		SubscribeURL: c.base + "/subscribe",
	}
	switch {
	case run.Kind == KindTest:
		// A test run is no issue: its links lead to a page saying so.
		d.ViewURL = TestPageURL(c.base, n.ID)
	case !web && (sel != VariantAll || key != sel) && key != VariantWeb && key != "":
		// A topic variant's reader sees their own selection in the browser.
		d.ViewURL += "/" + url.PathEscape(key)
	}
	if c.site.Logo != "" {
		d.LogoURL = c.abs(c.site.Logo)
	}
	d.Brand = templates.Brand{Title: c.site.Title, URL: d.SiteURL, LogoURL: d.LogoURL, Accent: c.site.Accent, Address: c.site.Address}
	for _, a := range arts {
		d.Articles = append(d.Articles, c.emailArticle(l, &a, n.Location))
	}
	d.Lead, d.Sections, d.More = layout(d.Articles, n.Sections)
	mk := newMarks()
	d.MSOOpen, d.MSOClose = mk.slot("mso_open"), mk.slot("mso_close")
	subject, err := c.subject(n, d)
	if err != nil {
		return nil, err
	}
	d.Subject = subject
	if d.Preheader, err = preheader(n, d); err != nil {
		return nil, err
	}
	d.Intro = intro(l, c.site.Title, len(arts), topics)
	if !web {
		d.Greeting = mk.slot(SlotGreetingHTML)
		d.UnsubscribeURL, d.PreferencesURL = mk.slot(SlotUnsubscribeHTML), mk.slot(SlotPreferencesHTML)
	}
	var buf bytes.Buffer
	if err := c.html.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("templates: email/digest.html: %w", err)
	}
	html, err := inlineCSS(c.sanitizeBody(buf.String()))
	if err != nil {
		return nil, err
	}
	html = strings.NewReplacer(d.MSOOpen, templates.MSOOpen, d.MSOClose, templates.MSOClose).Replace(html)
	var text string
	if c.text != nil {
		if !web {
			d.Greeting = mk.slot(SlotGreeting)
			d.UnsubscribeURL, d.PreferencesURL = mk.slot(SlotUnsubscribe), mk.slot(SlotPreferences)
		}
		buf.Reset()
		if err := c.text.Execute(&buf, d); err != nil {
			return nil, fmt.Errorf("templates: email/digest.txt: %w", err)
		}
		text = buf.String()
	} else {
		html := strings.NewReplacer(templates.MSOOpen, "", templates.MSOClose, "").Replace(html)
		text, err = html2text.FromString(html, html2text.Options{})
		if err != nil {
			return nil, fmt.Errorf("digest: text from html: %w", err)
		}
		// The text part gets the text forms of the personal values.
		text = strings.NewReplacer(mk.slot(SlotGreetingHTML), mk.slot(SlotGreeting),
			mk.slot(SlotUnsubscribeHTML), mk.slot(SlotUnsubscribe), mk.slot(SlotPreferencesHTML), mk.slot(SlotPreferences)).Replace(text)
	}
	return &Variant{Key: key, Subject: mk.finish(subject, brkText), HTML: mk.finish(html, brkHTML),
		Text: mk.finish(wrapText(normalizeText(text), 78), brkText)}, nil
}

// inlineCSS writes the template's CSS into style attributes (go-premailer);
// rules it cannot inline (media queries) stay in a <style> element.
func inlineCSS(doc string) (string, error) {
	p, err := premailer.NewPremailerFromString(doc, premailer.NewOptions())
	if err != nil {
		return "", fmt.Errorf("digest: inline css: %w", err)
	}
	out, err := p.Transform()
	if err != nil {
		return "", fmt.Errorf("digest: inline css: %w", err)
	}
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(out)), "<!doctype") {
		out = "<!DOCTYPE html>\n" + out
	}
	return out, nil
}

// normalizeText trims trailing spaces and collapses runs of blank lines.
func normalizeText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out []string
	blank := 0
	for _, l := range lines {
		if l != "-- " { // the signature separator keeps its space
			l = strings.TrimRight(l, " \t")
		}
		if l == "" {
			blank++
			if blank > 1 || len(out) == 0 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

func (c *composer) subject(n *Newsletter, d *Email) (string, error) {
	spec := n.Subject
	if spec == "" {
		spec = "{{.Newsletter.Title}} — {{.Period}}"
	}
	t, err := texttemplate.New("subject").Parse(spec)
	if err != nil {
		return "", fmt.Errorf("newsletter %q: subject: %w", n.ID, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("newsletter %q: subject: %w", n.ID, err)
	}
	return strings.Join(strings.Fields(b.String()), " "), nil
}

func intro(l *lang.Localizer, site string, n int, topics []string) string {
	switch {
	case n == 0:
		return l.T("digest.intro_none", "Site", site)
	case len(topics) > 0:
		return l.T("digest.intro_topics", "Count", n, "Site", site, "Topics", strings.Join(topics, ", "))
	}
	return l.T("digest.intro", "Count", n, "Site", site)
}

// period names the issue: its month for monthly or rarer schedules, else
// its date, in the newsletter's zone.
func period(l *lang.Localizer, n *Newsletter, at time.Time) string {
	t := at.In(n.Location)
	if sched, err := ParseSchedule(n.Schedule, n.Location); err == nil {
		a := sched.Next(t)
		if b := sched.Next(a); !a.IsZero() && !b.IsZero() && b.Sub(a) >= 27*24*time.Hour {
			return l.MonthYear(t)
		}
	}
	return l.Date(t)
}

func (c *composer) abs(u string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
		return c.base + u
	}
	return u
}

func (c *composer) emailArticle(l *lang.Localizer, a *article.Article, loc *time.Location) EmailArticle {
	ea := EmailArticle{Title: a.Title, Author: a.AuthorName, Summary: a.Summary, Tags: a.Tags,
		URL: a.Link, published: a.Published, Date: l.Date(a.Published.In(loc))}
	if ea.URL == "" {
		ea.URL = c.base + "/articles/" + url.PathEscape(a.Slug)
	}
	img := a.Image
	if img == nil {
		return ea
	}
	alt := img.Alt
	if alt == "" {
		alt = a.Title
	}
	switch {
	case img.Kept != nil:
		// The kept copy (remote, upload or content-folder file): the lead
		// crop (between 1:1 and 16:9) and the square thumbnail
		// (docs/ARCHITECTURE.md, "Remote images").
		k := img.Kept
		ea.Image = fitImage(c.base+k.Lead.Path, alt, k.Lead.Width, k.Lead.Height, contentWidth)
		ea.Thumb = fitImage(c.base+k.Thumb.Path, alt, k.Thumb.Width, k.Thumb.Height, thumbWidth)
	case img.MediaPath != "":
		// A local image not kept (yet): as it is, sized to the column.
		src := c.base + "/media/" + (&url.URL{Path: img.MediaPath}).EscapedPath()
		ea.Image = fitImage(src, alt, img.Width, img.Height, contentWidth)
		ea.Thumb = fitImage(src, alt, img.Width, img.Height, thumbWidth)
	}
	// A remote image not kept yet is left out: the mail loads nothing
	// from elsewhere.
	return ea
}

// topicArticles is the part of arts a subscriber with topic tags gets, and
// the variant key naming that selection ("" when nothing matches).
func topicArticles(arts []article.Article, tags []string) ([]article.Article, []string, string) {
	if len(tags) == 0 {
		return arts, nil, VariantAll
	}
	want := map[string]bool{}
	for _, t := range tags {
		want[t] = true
	}
	var out []article.Article
	var ids []string
	names := map[string]bool{}
	for _, a := range arts {
		hit := false
		for _, t := range a.Tags {
			if want[t.Slug] {
				hit = true
				names[t.Name] = true
			}
		}
		if hit {
			out = append(out, a)
			ids = append(ids, strconv.FormatInt(a.ID, 10))
		}
	}
	if len(out) == 0 {
		return nil, nil, ""
	}
	if len(out) == len(arts) {
		// Every article matches: the full variant, said as such.
		return arts, nil, VariantAll
	}
	topics := make([]string, 0, len(names))
	for n := range names {
		topics = append(topics, n)
	}
	sort.Strings(topics)
	return out, topics, "a:" + strings.Join(ids, ",")
}

// fitImage sizes an image for a column max pixels wide: never wider than
// its source, never taller than its width allows at the source's aspect
// ratio. With an unknown source size it takes the column width (Outlook
// for Windows ignores CSS widths) and its height follows the image.
func fitImage(src, alt string, w, h, max int) *EmailImage {
	ei := &EmailImage{URL: src, Alt: alt, Width: max}
	if w > 0 && h > 0 {
		ei.Width, ei.Height = w, h
		if w > max {
			ei.Width, ei.Height = max, (h*max+w/2)/w
		}
		ei.Height = maxInt(ei.Height, 1)
	}
	return ei
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// layout picks the lead story (the newest article with an image, else the
// newest) and sorts the rest into the first section whose tags they have,
// in order, or into more.
func layout(arts []EmailArticle, secs []Section) (*EmailArticle, []EmailSection, []EmailArticle) {
	if len(arts) == 0 {
		return nil, nil, nil
	}
	lead := -1
	for i := range arts {
		if arts[i].Image != nil && (lead < 0 || arts[i].published.After(arts[lead].published)) {
			lead = i
		}
	}
	if lead < 0 {
		lead = 0
		for i := range arts {
			if arts[i].published.After(arts[lead].published) {
				lead = i
			}
		}
	}
	groups := make([]EmailSection, len(secs))
	var more []EmailArticle
	for i, a := range arts {
		if i == lead {
			continue
		}
		placed := false
		for j, sec := range secs {
			if hasAnyTag(a.Tags, sec.Tags) {
				groups[j].Articles = append(groups[j].Articles, a)
				placed = true
				break
			}
		}
		if !placed {
			more = append(more, a)
		}
	}
	var out []EmailSection
	for j, g := range groups {
		if len(g.Articles) > 0 {
			g.Title = secs[j].Title
			out = append(out, g)
		}
	}
	l := arts[lead]
	return &l, out, more
}

func hasAnyTag(tags []article.Tag, slugs []string) bool {
	for _, t := range tags {
		for _, s := range slugs {
			if t.Slug == s {
				return true
			}
		}
	}
	return false
}

// preheader renders the newsletter's preheader template, or by default
// names the lead story and the next one: "Lead · Second · +6 more".
func preheader(n *Newsletter, d *Email) (string, error) {
	if n.Preheader != "" {
		t, err := texttemplate.New("preheader").Parse(n.Preheader)
		if err != nil {
			return "", fmt.Errorf("newsletter %q: preheader: %w", n.ID, err)
		}
		var b strings.Builder
		if err := t.Execute(&b, d); err != nil {
			return "", fmt.Errorf("newsletter %q: preheader: %w", n.ID, err)
		}
		return strings.Join(strings.Fields(b.String()), " "), nil
	}
	if d.Lead == nil {
		return d.Intro, nil
	}
	titles := []string{d.Lead.Title}
	for _, s := range d.Sections {
		for _, a := range s.Articles {
			titles = append(titles, a.Title)
		}
	}
	for _, a := range d.More {
		titles = append(titles, a.Title)
	}
	shown := min(len(titles), 2)
	out := strings.Join(titles[:shown], " · ")
	if rest := len(titles) - shown; rest > 0 {
		out += " · " + d.L.T("digest.more", "Count", rest)
	}
	return out, nil
}

// wrapText wraps the lines of s longer than width at spaces (RFC 3676
// asks for 78 characters); a word longer than the line, a URL say, stays
// whole on a line of its own. Lines keep their leading indentation.
func wrapText(s string, width int) string {
	lines := strings.Split(s, "\n")
	var out []string
	for _, l := range lines {
		if utf8.RuneCountInString(l) <= width || l == "-- " {
			out = append(out, l)
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
		cur, n := indent, utf8.RuneCountInString(indent)
		for _, w := range strings.Fields(l) {
			wn := utf8.RuneCountInString(w)
			if n > len(indent) && n+1+wn > width {
				out = append(out, cur)
				cur, n = indent, len(indent)
			}
			if n > len(indent) {
				cur += " "
				n++
			}
			cur += w
			n += wn
		}
		out = append(out, cur)
	}
	return strings.Join(out, "\n")
}

// TestPageURL is where the links of a test send lead when the address it
// went to has no subscription of its own: a page that says it was a test.
func TestPageURL(base, newsletter string) string {
	return strings.TrimRight(base, "/") + "/newsletters/" + url.PathEscape(newsletter) + "/test"
}
