package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/lang"
)

// The partner-site embed (docs/ARCHITECTURE.md, "HTTP surfaces", issue 5):
//
//	/embed           the builder page: options, live preview, snippets
//	/embed.js        the loader: tiny, short cache + ETag; loads the bundle
//	/embed/v/{h}.js  the bundle (widget.js + widget.css), named by the hash
//	                 of its bytes, cached for a year
//	/embed/frame     a server-rendered list for sites that allow no script
//
// The widget sources live in templates/embed/ (loader.js, widget.js,
// widget.css, frame.html, snippets.html); templates.dir overrides them.

// EmbedConfig configures the embed surface.
type EmbedConfig struct {
	// AllowedOrigins is embed.allowed_origins: "*" or origins such as
	// "https://partner.example". It becomes frame-ancestors of /embed/frame
	// (feeds use it for CORS).
	AllowedOrigins []string
	// Newsletters are offered by the subscribe-form snippet.
	Newsletters []EmbedNewsletter
}

// EmbedNewsletter is a newsletter a subscribe form can offer.
type EmbedNewsletter struct {
	ID, Title string
	Default   bool
}

// Embed defaults and limits.
const (
	embedDefaultLimit = 5
	// HoneypotField is the subscribe form's trap field: people leave it
	// empty (it is hidden); bots fill it in.
	HoneypotField = "website"
	// The loader is revalidated often, so partners get a new bundle within
	// minutes; the bundle's URL changes with its bytes, so it never is.
	loaderCacheControl = "public, max-age=300"
	bundleCacheControl = "public, max-age=31536000, immutable"
	frameCacheControl  = "public, max-age=300"
)

// staticAsset is bytes served from memory, identity and gzip, each with a
// strong ETag, precomputed.
type staticAsset struct {
	body, gz     []byte
	etag, etagGz string
	ctype, cache string
}

func newStaticAsset(body []byte, ctype, cache string) *staticAsset {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:12])
	return &staticAsset{body: body, gz: buf.Bytes(), etag: `"` + tag + `"`, etagGz: `"` + tag + `-gz"`, ctype: ctype, cache: cache}
}

func (a *staticAsset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", a.cache)
	h.Set("Vary", "Accept-Encoding")
	// Partner pages load these cross-origin, also under COEP.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	body, etag := a.body, a.etag
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = a.gz, a.etagGz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// embedAssets is everything the embed serves, built once by New.
type embedAssets struct {
	loader     *staticAsset
	bundle     *staticAsset
	bundleHash string
	css        string // widget.css, compacted: the bundle's and the frame's
	cssCSP     string // 'sha256-…' of css, the frame's style-src
	frame      *template.Template
	snippets   *template.Template
	ancestors  string // frame-ancestors of /embed/frame
}

var (
	cssComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	cssSpace   = regexp.MustCompile(`\s+`)
	cssPunct   = regexp.MustCompile(`\s*([{};,])\s*`)
	cssColon   = regexp.MustCompile(`:\s+`)
)

// compactCSS drops comments and needless white space. Our CSS has no
// strings or selectors where that would change meaning.
func compactCSS(s string) string {
	s = cssComment.ReplaceAllString(s, "")
	s = cssSpace.ReplaceAllString(s, " ")
	s = cssPunct.ReplaceAllString(s, "$1")
	s = cssColon.ReplaceAllString(s, ":")
	return strings.TrimSpace(strings.ReplaceAll(s, ";}", "}"))
}

// compactJS drops whole-line // comments and indentation: safe for our
// sources, which keep no // inside strings at a line's start.
func compactJS(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "//") {
			continue
		}
		b.WriteString(t)
		b.WriteByte('\n')
	}
	return b.String()
}

// loadEmbed builds the embed's assets from the templates and adds the
// builder page to pages; ReloadTemplates (SIGHUP) runs it again.
func (s *Server) loadEmbed(pages map[string]*template.Template, cat *lang.Catalog) (*embedAssets, error) {
	fsys := s.cfg.Templates
	read := func(name string) (string, error) {
		b, err := fs.ReadFile(fsys, "embed/"+name)
		if err != nil {
			return "", fmt.Errorf("templates: embed/%s: %w", name, err)
		}
		return string(b), nil
	}
	e := &embedAssets{}
	css, err := read("widget.css")
	if err != nil {
		return nil, err
	}
	e.css = compactCSS(css)
	sum := sha256.Sum256([]byte(e.css))
	e.cssCSP = "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"

	widget, err := read("widget.js")
	if err != nil {
		return nil, err
	}
	if !strings.Contains(widget, "HERALD_CSS") {
		return nil, fmt.Errorf("templates: embed/widget.js: no HERALD_CSS placeholder for the stylesheet")
	}
	cssJSON, _ := json.Marshal(e.css)
	widget = strings.ReplaceAll(compactJS(widget), "HONEYPOT", HoneypotField)
	widget = strings.Replace(widget, "HERALD_I18N", string(widgetMessages(cat)), 1)
	bundle := []byte(strings.Replace(widget, "HERALD_CSS", string(cssJSON), 1))
	bsum := sha256.Sum256(bundle)
	e.bundleHash = hex.EncodeToString(bsum[:8])
	e.bundle = newStaticAsset(bundle, "text/javascript; charset=utf-8", bundleCacheControl)

	loader, err := read("loader.js")
	if err != nil {
		return nil, err
	}
	if !strings.Contains(loader, "HERALD_BUNDLE") {
		return nil, fmt.Errorf("templates: embed/loader.js: no HERALD_BUNDLE placeholder for the bundle path")
	}
	loader = strings.Replace(compactJS(loader), "HERALD_BUNDLE", "/embed/v/"+e.bundleHash+".js", 1)
	e.loader = newStaticAsset([]byte(loader), "text/javascript; charset=utf-8", loaderCacheControl)

	if e.frame, err = template.New("frame.html").ParseFS(fsys, "embed/frame.html"); err != nil {
		return nil, fmt.Errorf("templates: embed/frame.html: %w", err)
	}
	if e.snippets, err = template.New("snippets.html").ParseFS(fsys, "embed/snippets.html"); err != nil {
		return nil, fmt.Errorf("templates: embed/snippets.html: %w", err)
	}
	// The builder page is the error page's layout with its own content:
	// Clone keeps the shared layout and its functions.
	page, err := pages["error"].Clone()
	if err == nil {
		page, err = page.Funcs(template.FuncMap{"snippet": func(id string, label template.HTML, text string) snippetBox {
			return snippetBox{ID: id, Label: label, Text: text}
		}}).ParseFS(fsys, "pages/embed.html")
	}
	if err != nil {
		return nil, fmt.Errorf("templates: pages/embed.html: %w", err)
	}
	pages["embed"] = page
	e.ancestors = frameAncestors(s.cfg.Embed.AllowedOrigins)
	return e, nil
}

// widgetKeys are the catalogue messages the script widget shows.
var widgetKeys = []string{"widget.label", "subscribe.button", "widget.thanks", "widget.check", "widget.failed", "embed.empty"}

// widgetMessages is the widget's messages in every offered language, as
// a JS object literal (JSON) for the bundle. "date.month" tells the
// widget how the catalogue writes a date's month, "long" (a name) or
// "numeric" (Finnish 27.11.2026), so Intl writes what the frame does.
func widgetMessages(cat *lang.Catalog) []byte {
	all := map[string]map[string]string{}
	sample := time.Date(2026, time.November, 27, 12, 0, 0, 0, time.UTC)
	for _, code := range cat.Offered() {
		l := cat.L(code)
		m := map[string]string{"date.month": "long"}
		if !strings.Contains(l.Date(sample), l.Month(sample.Month())) {
			m["date.month"] = "numeric"
		}
		for _, k := range widgetKeys {
			m[k] = l.T(k)
		}
		all[code] = m
	}
	b, _ := json.Marshal(all)
	return b
}

// frameAncestors is the CSP frame-ancestors source list for the allowed
// origins: "*" allows any; otherwise Herald itself (the builder's preview)
// and each origin. Values that are not a bare origin are left out, so
// configuration cannot inject other directives.
func frameAncestors(origins []string) string {
	list := []string{"'self'"}
	for _, o := range origins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "*" {
			return "*"
		}
		if u, err := url.Parse(o); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
			u.Path == "" && u.RawQuery == "" && u.User == nil && !strings.ContainsAny(o, " ;,'\"") {
			list = append(list, u.Scheme+"://"+u.Host)
		}
	}
	return strings.Join(list, " ")
}

// embedOptions are the builder's choices: the same for the script
// widget's data attributes and the frame's query parameters.
type embedOptions struct {
	Tags      []string // slugs
	Limit     int
	Layout    string // list | cards
	Theme     string // light | dark | auto
	Lang      string // BCP 47
	Images    bool
	Summaries bool
	Subscribe bool
}

var langRe = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

func (s *Server) defaultEmbedOptions() embedOptions {
	lang := s.cfg.Site.Language
	if !langRe.MatchString(lang) {
		lang = "en"
	}
	return embedOptions{Limit: embedDefaultLimit, Layout: "list", Theme: "auto", Lang: lang, Images: true, Summaries: true}
}

func (s *Server) maxItems() int {
	if s.cfg.MaxItems > 0 {
		return s.cfg.MaxItems
	}
	return 100
}

// parseEmbedOptions reads options from a query; a value it does not know
// is a 400 that names it, so a typo in a snippet is found at once.
func (s *Server) parseEmbedOptions(rawQuery string) (embedOptions, error) {
	o := s.defaultEmbedOptions()
	q, tags, err := article.TagQuery(rawQuery)
	if err != nil {
		// The English message keeps the detail (which bound); the others
		// name both bounds.
		return o, &HTTPError{Status: http.StatusBadRequest, Msg: err.Error(), Key: "embed_page.bad_tags",
			Args: []any{"Detail", err.Error(), "Max", article.MaxTags, "Bytes", article.MaxTagQuery}}
	}
	o.Tags = tags
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.maxItems() {
			return o, keyErr(http.StatusBadRequest, "embed_page.bad_limit", "Param", "limit", "Max", s.maxItems())
		}
		o.Limit = n
	}
	choice := func(key string, dst *string, allowed ...string) error {
		v := q.Get(key)
		if v == "" {
			return nil
		}
		for _, a := range allowed {
			if v == a {
				*dst = v
				return nil
			}
		}
		return keyErr(http.StatusBadRequest, "embed_page.bad_choice", "Param", key, "Values", strings.Join(allowed, ", "))
	}
	if err := choice("layout", &o.Layout, "list", "cards"); err != nil {
		return o, err
	}
	if err := choice("theme", &o.Theme, "light", "dark", "auto"); err != nil {
		return o, err
	}
	if v := q.Get("lang"); v != "" {
		if !langRe.MatchString(v) {
			return o, keyErr(http.StatusBadRequest, "embed_page.bad_lang", "Param", "lang")
		}
		o.Lang = v
	}
	for key, dst := range map[string]*bool{"images": &o.Images, "summaries": &o.Summaries, "subscribe": &o.Subscribe} {
		switch q.Get(key) {
		case "":
		case "on":
			*dst = true
		case "off":
			*dst = false
		default:
			return o, keyErr(http.StatusBadRequest, "embed_page.bad_switch", "Param", key)
		}
	}
	return o, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// query is the frame's query string for o: every option, in a fixed
// order, commas between tags left readable.
func (o embedOptions) query() string {
	var parts []string
	add := func(k, v string) {
		parts = append(parts, k+"="+strings.ReplaceAll(url.QueryEscape(v), "%2C", ","))
	}
	if len(o.Tags) > 0 {
		add("tags", strings.Join(o.Tags, ","))
	}
	add("limit", strconv.Itoa(o.Limit))
	add("layout", o.Layout)
	add("theme", o.Theme)
	add("lang", o.Lang)
	add("images", onOff(o.Images))
	add("summaries", onOff(o.Summaries))
	return strings.Join(parts, "&")
}

// formatDate writes t as the long date Intl.DateTimeFormat(lang, {day:
// "numeric", month: "long", year: "numeric"}) writes in the widget, so
// the frame and the widget agree: "September 24, 2026" (en), "24
// September 2026" (en-GB), "24. September 2026" (de), "1 août 2026" (fr).
// "27.11.2026" (fi: its catalogue writes the month as a number, and the
// widget asks Intl for that). Month names and day order come from the
// catalogues (docs/ARCHITECTURE.md, "Languages"); languages without a
// dateLocale get ISO 8601.
func (s *Server) formatDate(t time.Time, lang string) string {
	loc := dateLocale(lang)
	if loc == "" {
		return t.Format("2006-01-02")
	}
	base, _, _ := strings.Cut(loc, "-")
	l := s.catalog().L(base)
	if loc == "en" {
		return fmt.Sprintf("%s %d, %d", l.Month(t.Month()), t.Day(), t.Year())
	}
	return l.Date(t)
}

// enMonthFirst are the regions whose English writes the month first
// (CLDR's en-US pattern); the rest of the English world follows en-GB.
var enMonthFirst = map[string]bool{"": true, "us": true, "ca": true, "ph": true, "as": true, "gu": true, "mh": true, "mp": true, "pr": true, "um": true, "vi": true}

// dateLocale is the locale whose dates the frame writes for a language
// tag: en, en-GB, sv, da, nb, fi, de, nl or fr; "" for other languages.
// dateLocale in templates/embed/widget.js is the same function: the
// widget asks Intl for this locale, so both write one date alike.
func dateLocale(lang string) string {
	parts := strings.Split(strings.ToLower(lang), "-")
	switch base := parts[0]; base {
	case "nb", "no", "nn":
		return "nb"
	case "sv", "da", "fi", "de", "nl", "fr":
		return base
	case "en":
		region := ""
		for _, p := range parts[1:] {
			if len(p) == 4 {
				continue // a script: en-Latn-US
			}
			if len(p) == 2 || (len(p) == 3 && p[0] >= '0' && p[0] <= '9') {
				region = p
			}
			break
		}
		if enMonthFirst[region] {
			return "en"
		}
		return "en-GB"
	}
	return ""
}

// frameItem is one article as the frame shows it.
type frameItem struct {
	Title, URL, Summary, Date, ISO string
	Image                          *frameImage
}

type frameImage struct {
	URL, Alt      string
	Width, Height int
}

type frameData struct {
	Site  Site
	Opts  embedOptions
	Items []frameItem
	CSS   template.CSS
	Empty string // "No news yet." in the frame's language
}

// articleURL is where a widget item links: the canonical link when it is
// http(s), else the article's page here.
func (s *Server) articleURL(a *article.Article) string {
	if u, err := url.Parse(a.Link); err == nil && a.Link != "" && (u.Scheme == "http" || u.Scheme == "https") {
		return a.Link
	}
	return s.abs("/articles/" + url.PathEscape(a.Slug))
}

func (s *Server) handleEmbedFrame(w http.ResponseWriter, r *http.Request) {
	o, err := s.parseEmbedOptions(r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.cfg.Store.ListArticles(r.Context(), article.Query{Tags: o.Tags, Now: s.cfg.Now(), Limit: o.Limit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e := s.embed.Load()
	l := s.catalog().L(o.Lang)
	d := frameData{Site: s.cfg.Site, Opts: o, CSS: template.CSS(e.css), Empty: l.T("embed.empty")}
	for i := range list {
		a := &list[i]
		it := frameItem{Title: a.Title, URL: s.articleURL(a), ISO: a.Published.UTC().Format(time.RFC3339),
			Date: s.formatDate(a.Published.In(s.cfg.Site.Location), o.Lang)}
		if o.Summaries {
			it.Summary = a.Summary
		}
		// Only images Herald serves itself: the frame makes no request
		// to anyone else.
		switch img := a.Image; {
		case !o.Images || img == nil:
		case img.Kept != nil:
			r := article.Displayed(img.Kept, 600)
			it.Image = &frameImage{URL: r.Path, Alt: img.Alt, Width: r.Width, Height: r.Height}
		case img.MediaPath != "":
			it.Image = &frameImage{URL: "/media/" + img.MediaPath, Alt: img.Alt, Width: img.Width, Height: img.Height}
		}
		d.Items = append(d.Items, it)
	}
	var buf bytes.Buffer
	if err := e.frame.Execute(&buf, d); err != nil {
		s.fail(w, r, fmt.Errorf("embed frame: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", frameCacheControl)
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+e.cssCSP+"; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors "+e.ancestors)
	sum := sha256.Sum256(buf.Bytes())
	h.Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(buf.Bytes()))
}

func (s *Server) handleEmbedLoader(w http.ResponseWriter, r *http.Request) {
	s.embed.Load().loader.serve(w, r)
}

func (s *Server) handleEmbedBundle(w http.ResponseWriter, r *http.Request) {
	e := s.embed.Load()
	if r.PathValue("file") != e.bundleHash+".js" {
		// An old hash: the loader (five minutes' cache) points to the new one.
		s.fail(w, r, keyErr(http.StatusNotFound, "error.no_file"))
		return
	}
	e.bundle.serve(w, r)
}

// builderData is what pages/embed.html gets in pageData.Extra.
type builderData struct {
	Opts        embedOptions
	Selected    map[string]bool // chosen tag slugs
	Langs       []option        // site.languages, the widget's selected
	Newsletters []EmbedNewsletter
	Base        string // Herald's origin as partners see it (site.base_url)
	FrameURL    string // preview, relative
	Script      string // the snippets, as text
	Frame       string
	Form        string
	Honeypot    string
}

// snippetBox is one copyable snippet on the builder page.
type snippetBox struct {
	ID    string
	Label template.HTML // a translated message (t)
	Text  string
}

// snippetData is what embed/snippets.html gets.
type snippetData struct {
	// L speaks the widget's language (lang): the form snippet's labels
	// are for the partner's readers.
	L           *lang.Localizer
	Base        string
	Site        string
	Opts        embedOptions
	TagList     string
	FrameURL    string
	Newsletters []EmbedNewsletter
	Honeypot    string
}

func (s *Server) handleEmbedBuilder(w http.ResponseWriter, r *http.Request) {
	o, err := s.parseEmbedOptions(r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tags, err := s.cfg.Store.ListTags(r.Context(), s.cfg.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	base := strings.TrimRight(s.cfg.Site.BaseURL, "/")
	sd := snippetData{L: s.catalog().L(o.Lang), Base: base, Site: s.cfg.Site.Title, Opts: o, TagList: strings.Join(o.Tags, ","),
		FrameURL: base + "/embed/frame?" + o.query(), Newsletters: s.cfg.Embed.Newsletters, Honeypot: HoneypotField}
	bd := builderData{Opts: o, Selected: map[string]bool{}, Langs: s.languageOptions(o.Lang), Newsletters: s.cfg.Embed.Newsletters,
		Base: base, FrameURL: "/embed/frame?" + o.query(), Honeypot: HoneypotField}
	for _, t := range o.Tags {
		bd.Selected[t] = true
	}
	for name, dst := range map[string]*string{"script": &bd.Script, "iframe": &bd.Frame, "form": &bd.Form} {
		var buf bytes.Buffer
		if err := s.embed.Load().snippets.ExecuteTemplate(&buf, name, sd); err != nil {
			s.fail(w, r, fmt.Errorf("embed snippet %s: %w", name, err))
			return
		}
		*dst = strings.TrimSpace(buf.String())
	}
	l := s.localizer(r)
	s.render(w, r, http.StatusOK, "embed", &pageData{
		L:           l,
		Title:       l.T("embed_page.title"),
		Description: l.T("embed_page.description", "Site", s.cfg.Site.Title),
		Canonical:   s.abs("/embed"),
		Tags:        tags,
		MaxItems:    s.maxItems(),
		Extra:       bd,
	})
}
