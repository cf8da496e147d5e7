package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/confined"
	"github.com/herald-news/herald/internal/lang"
)

// pageCSP is the Content-Security-Policy of every HTML page.
const pageCSP = "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

// ReloadTemplates re-reads the page templates (SIGHUP); on error the old
// ones stay in use.
func (s *Server) ReloadTemplates() error { return s.loadTemplates() }

// pageData is what every page template gets.
type pageData struct {
	Site Site
	// L speaks the reader's language (render fills it from
	// Accept-Language when the handler has not chosen); Lang is its code.
	L              *lang.Localizer
	Lang           string
	Title          string
	Description    string
	Canonical      string
	Alternates     []alternate
	HasNewsletters bool
	HasArchive     bool

	Articles []article.Article
	Article  *article.Article
	Body     template.HTML
	Tag      *article.Tag
	Tags     []article.TagCount
	Total    int
	PrevURL  string
	NextURL  string

	Feeds    []feedLink
	TagFeeds []feedLink
	MaxItems int

	Message   string
	RequestID string
	// Subscribe is the subscribe form (subscribe.go), where a page has one.
	Subscribe *subscribeForm
	// Extra carries surface-specific data (subscribe forms and the like).
	Extra any
}

type alternate struct{ Type, Title, URL string }

type feedLink struct{ ID, Title, URL string }

var feedFormats = []struct{ ext, typ, name string }{
	{"atom", "application/atom+xml", "Atom"},
	{"rss", "application/rss+xml", "RSS"},
	{"json", "application/feed+json", "JSON Feed"},
}

func (s *Server) abs(p string) string { return strings.TrimRight(s.cfg.Site.BaseURL, "/") + p }

func (s *Server) alternates(prefix, title string) []alternate {
	var out []alternate
	for _, f := range feedFormats {
		out = append(out, alternate{Type: f.typ, Title: title + " (" + f.name + ")", URL: s.abs(prefix + "feed." + f.ext)})
	}
	return out
}

// pageSet is the page templates once per language, and the catalogue
// they were made with.
type pageSet struct {
	byLang map[string]map[string]*template.Template
	cat    *lang.Catalog
}

func (s *Server) catalog() *lang.Catalog { return s.pages.Load().cat }

// localizer speaks the language the reader's Accept-Language picks among
// site.languages (docs/ARCHITECTURE.md, "Languages").
func (s *Server) localizer(r *http.Request) *lang.Localizer {
	c := s.catalog()
	return c.L(c.Match(r.Header.Get("Accept-Language")))
}

// strong marks a value up as <strong> for a translated sentence around it.
func strong(v string) template.HTML {
	return template.HTML("<strong>" + template.HTMLEscapeString(v) + "</strong>")
}

// code marks a value up as <code>: a parameter or a name a translated
// sentence mentions and that stays as it is.
func code(v string) template.HTML {
	return template.HTML("<code>" + template.HTMLEscapeString(v) + "</code>")
}

// codes is code for each value, joined by commas.
func codes(vs ...string) template.HTML {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(code(v))
	}
	return template.HTML(strings.Join(out, ", "))
}

// link is a link with translated text (t's result) for a sentence around it.
func link(href string, text template.HTML) template.HTML {
	return template.HTML(`<a href="` + template.HTMLEscapeString(href) + `">` + string(text) + "</a>")
}

func (s *Server) loadTemplates() error {
	cat, err := lang.Load(s.cfg.Templates, s.cfg.Languages, s.cfg.Site.Language)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	funcs := template.FuncMap{
		// t and date are bound to a language per clone below.
		"t":       func(string, ...any) template.HTML { return "" },
		"date":    func(time.Time) string { return "" },
		"timeTag": func(time.Time) template.HTML { return "" },
		"strong":  strong,
		"code":    code,
		"codes":   codes,
		"link":    link,
		"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"imageURL": func(img *article.Image) string {
			switch {
			case img.Kept != nil:
				return article.Displayed(img.Kept, pageImageWidth).Path
			case img.MediaPath != "":
				return "/media/" + img.MediaPath
			}
			return img.URL
		},
		// srcset offers a kept image's derivatives; "" for other images.
		"srcset": func(img *article.Image) string {
			if img.Kept == nil || len(img.Kept.Sizes) == 0 {
				return ""
			}
			return article.Srcset(img.Kept)
		},
		"updatedLater": func(a *article.Article) bool { return a.Updated.Sub(a.Published) > time.Hour },
	}
	pages := map[string]*template.Template{}
	for _, name := range append([]string{"index", "article", "feeds", "error", "newsletters"}, subscribePages...) {
		files := append([]string{"pages/layout.html", "pages/" + name + ".html"}, pageExtras[name]...)
		t, err := template.New(name).Funcs(funcs).ParseFS(s.cfg.Templates, files...)
		if err != nil {
			return fmt.Errorf("templates: pages/%s.html: %w", name, err)
		}
		pages[name] = t
	}
	embed, err := s.loadEmbed(pages, cat)
	if err != nil {
		return err
	}
	if s.admin != nil {
		if err := s.admin.loadTemplates(); err != nil {
			return err
		}
	}
	set := &pageSet{byLang: map[string]map[string]*template.Template{}, cat: cat}
	for _, code := range append(cat.Offered(), lang.Pseudo) {
		l := cat.L(code)
		date := func(t time.Time) string { return l.Date(t.In(s.cfg.Site.Location)) }
		lf := template.FuncMap{
			"t":    l.HTML,
			"date": date,
			// timeTag is a <time> element for a translated sentence around it.
			"timeTag": func(t time.Time) template.HTML {
				return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `">` + template.HTMLEscapeString(date(t)) + "</time>")
			},
		}
		set.byLang[code] = map[string]*template.Template{}
		for name, t := range pages {
			c, err := t.Clone()
			if err != nil {
				return fmt.Errorf("templates: pages/%s.html: %w", name, err)
			}
			set.byLang[code][name] = c.Funcs(lf)
		}
	}
	s.embed.Store(embed)
	s.pages.Store(set)
	return nil
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	d.Site = s.cfg.Site
	if d.L == nil {
		d.L = s.localizer(r)
	}
	d.Lang = d.L.Lang()
	w.Header().Add("Vary", "Accept-Language")
	d.HasNewsletters = s.cfg.HasNewsletters
	d.HasArchive = s.cfg.Archive != nil
	s.addSubscribeForm(r, name, d)
	if d.Alternates == nil {
		d.Alternates = s.alternates("/", s.cfg.Site.Title)
	}
	var buf bytes.Buffer
	if err := s.pages.Load().byLang[d.Lang][name].ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.ErrorContext(r.Context(), "template failed", slog.String("page", name), slog.Any("err", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	if h.Get("Content-Security-Policy") == "" {
		// No inline script or style anywhere; only /embed/frame may be framed
		// (its handler sets its own policy).
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Frame-Options", "DENY")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

func pageNumber(r *http.Request) (int, error) {
	p := r.URL.Query().Get("page")
	if p == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 100000 {
		return 0, keyErr(http.StatusBadRequest, "page.bad_number")
	}
	return n, nil
}

func (s *Server) listPage(w http.ResponseWriter, r *http.Request, tag *article.Tag, base string) {
	page, err := pageNumber(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := article.Query{Now: s.cfg.Now(), Limit: s.cfg.PageSize, Offset: (page - 1) * s.cfg.PageSize}
	if tag != nil {
		q.Tags = []string{tag.Slug}
	}
	ctx := r.Context()
	list, err := s.cfg.Store.ListArticles(ctx, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	total, err := s.cfg.Store.CountArticles(ctx, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if page > 1 && len(list) == 0 {
		s.fail(w, r, keyErr(http.StatusNotFound, "page.no_page", "Page", page))
		return
	}
	d := &pageData{Articles: list, Tag: tag, Total: total, Description: s.cfg.Site.Description}
	if page > 1 {
		d.PrevURL = base
		if page > 2 {
			d.PrevURL = fmt.Sprintf("%s?page=%d", base, page-1)
		}
	}
	if page*s.cfg.PageSize < total {
		d.NextURL = fmt.Sprintf("%s?page=%d", base, page+1)
	}
	d.Canonical = s.abs(base)
	if page > 1 {
		d.Canonical = s.abs(fmt.Sprintf("%s?page=%d", base, page))
	}
	if tag != nil {
		d.Title = tag.Name
		d.Alternates = append(s.alternates("/tags/"+tag.Slug+"/", s.cfg.Site.Title+" · "+tag.Name), s.alternates("/", s.cfg.Site.Title)...)
	} else {
		d.Tags, err = s.cfg.Store.ListTags(ctx, q.Now)
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "index", d)
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.listPage(w, r, nil, "/")
}

func (s *Server) handleTag(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	if norm := article.Slugify(slug); norm != slug && norm != "" {
		http.Redirect(w, r, "/tags/"+norm, http.StatusMovedPermanently)
		return
	}
	tag, err := s.cfg.Store.GetTag(r.Context(), slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.listPage(w, r, &tag, "/tags/"+slug)
}

// pageImageWidth is the widest image an article page shows first: its
// column is 46rem, and srcset offers the rest.
const pageImageWidth = 1200

func (s *Server) handleArticle(w http.ResponseWriter, r *http.Request) {
	a, err := s.cfg.Store.GetArticle(r.Context(), r.PathValue("slug"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !a.Visible(s.cfg.Now()) {
		s.fail(w, r, keyErr(http.StatusNotFound, "error.not_found"))
		return
	}
	if img := a.Image; img != nil && img.Kept == nil && img.MediaPath == "" {
		// A remote image not kept yet is not shown: the page loads
		// nothing from elsewhere (docs/ARCHITECTURE.md, "Remote images").
		cp := *a
		cp.Image, a = nil, &cp
	}
	d := &pageData{
		Title:       a.Title,
		Description: a.Summary,
		Canonical:   s.abs("/articles/" + a.Slug),
		Article:     a,
		Body:        template.HTML(a.BodyHTML), // sanitised at import (article.Policy)
	}
	if a.Link != "" {
		d.Canonical = a.Link
	}
	s.render(w, r, http.StatusOK, "article", d)
}

func (s *Server) handleFeeds(w http.ResponseWriter, r *http.Request) {
	l := s.localizer(r)
	d := &pageData{L: l, Title: l.T("page.feeds"), MaxItems: s.cfg.MaxItems,
		Description: l.T("feeds.description", "Site", s.cfg.Site.Title)}
	for _, f := range feedFormats {
		d.Feeds = append(d.Feeds, feedLink{ID: "feed-" + f.ext, Title: f.name, URL: s.abs("/feed." + f.ext)})
	}
	tags, err := s.cfg.Store.ListTags(r.Context(), s.cfg.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, t := range tags {
		d.TagFeeds = append(d.TagFeeds, feedLink{
			ID: "tag-" + t.Slug, Title: fmt.Sprintf("%s (Atom)", t.Name), URL: s.abs("/tags/" + t.Slug + "/feed.atom")})
	}
	s.render(w, r, http.StatusOK, "feeds", d)
}

// mediaTypes are the files /media serves: images only, never the
// Markdown sources or anything else in the content folder.
var mediaTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml",
}

// mediaSniffLen is how much of a file sniffImage looks at: enough for an
// SVG's XML declaration, comments and DOCTYPE before its <svg.
const mediaSniffLen = 4096

// handleMedia serves an image from the content folder. The file is opened
// through os.Root (internal/confined), so no symlink leads out of the
// folder; it must be a regular file whose contents match its extension;
// and nothing Herald itself writes (the store, the outbox: MediaExclude)
// is served even when the content folder contains it.
func (s *Server) handleMedia(w http.ResponseWriter, r *http.Request) {
	notFound := func() { s.fail(w, r, keyErr(http.StatusNotFound, "error.no_image")) }
	p := path.Clean("/" + r.PathValue("path"))[1:]
	ct, ok := mediaTypes[strings.ToLower(path.Ext(p))]
	// u/ is the uploads' (handleUpload), whatever the content folder holds.
	if !ok || s.cfg.ContentDir == "" || hiddenPath(p) || strings.HasPrefix(p, "u/") {
		notFound()
		return
	}
	excl := s.mediaExcludeInfo()
	if mediaExcluded(s.cfg.ContentDir, p, excl) {
		notFound()
		return
	}
	f, st, err := confined.OpenIf(s.cfg.ContentDir, p, func(st fs.FileInfo) bool { return !sameAsAny(st, excl) })
	if err != nil {
		notFound()
		return
	}
	defer f.Close()
	if !st.Mode().IsRegular() {
		notFound()
		return
	}
	head := make([]byte, mediaSniffLen)
	n, err := io.ReadFull(f, head)
	if (err != nil && n == 0) || !sniffImage(ct, head[:n]) {
		notFound()
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		notFound()
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	// An SVG opened directly must not run script in our origin.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	http.ServeContent(w, r, p, st.ModTime(), f)
}

// hiddenPath: any element starting with "." (.git, .env) is never served.
func hiddenPath(p string) bool {
	for _, el := range strings.Split(p, "/") {
		if strings.HasPrefix(el, ".") {
			return true
		}
	}
	return false
}

// mediaExcludeInfo stats MediaExclude now (the data folder may be created
// after start); what does not exist cannot be served either.
func (s *Server) mediaExcludeInfo() []fs.FileInfo {
	var out []fs.FileInfo
	for _, x := range s.cfg.MediaExclude {
		if st, err := os.Stat(x); err == nil {
			out = append(out, st)
		}
	}
	return out
}

// mediaExcluded reports whether a folder on the way to p (through any
// symlinks inside dir) is one of excl.
func mediaExcluded(dir, p string, excl []fs.FileInfo) bool {
	if len(excl) == 0 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		st, err := confined.Stat(dir, p[:i])
		if err != nil || sameAsAny(st, excl) {
			return true // a folder that cannot be stat'd serves nothing either
		}
	}
	return false
}

// sameAsAny compares by identity, so no other name (symlink, "..", case)
// for an excluded file or folder gets through.
func sameAsAny(st fs.FileInfo, excl []fs.FileInfo) bool {
	for _, x := range excl {
		if os.SameFile(st, x) {
			return true
		}
	}
	return false
}

// sniffImage reports whether head, the start of a file, is an image of
// type ct: a name ending in .png is no reason to serve what is not one.
func sniffImage(ct string, head []byte) bool {
	switch ct {
	case "image/png":
		return bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n"))
	case "image/jpeg":
		return bytes.HasPrefix(head, []byte("\xff\xd8\xff"))
	case "image/gif":
		return bytes.HasPrefix(head, []byte("GIF87a")) || bytes.HasPrefix(head, []byte("GIF89a"))
	case "image/webp":
		return len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP"
	case "image/avif":
		// An ISO-BMFF "ftyp" box naming an AVIF brand.
		if len(head) < 16 || string(head[4:8]) != "ftyp" {
			return false
		}
		box := head[8:min(len(head), 64)]
		return bytes.Contains(box, []byte("avif")) || bytes.Contains(box, []byte("avis"))
	case "image/svg+xml":
		// Text (no NUL), and an <svg element near the start.
		return bytes.IndexByte(head, 0) < 0 && bytes.Contains(head, []byte("<svg"))
	}
	return false
}

func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	data, err := fs.ReadFile(s.cfg.Templates, "assets/"+name)
	if err != nil || strings.HasPrefix(name, ".") {
		s.fail(w, r, keyErr(http.StatusNotFound, "error.no_file"))
		return
	}
	sum := sha256.Sum256(data)
	h := w.Header()
	h.Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	h.Set("Cache-Control", "public, max-age=3600")
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

// handleReadyz runs every readiness check: 200 when all pass, else 503,
// with each check's result in JSON.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{}
	status := http.StatusOK
	for name, check := range s.cfg.ReadyChecks {
		if err := check(ctx); err != nil {
			checks[name] = err.Error()
			status = http.StatusServiceUnavailable
		} else {
			checks[name] = "ok"
		}
	}
	word := "ok"
	if status != http.StatusOK {
		word = "unavailable"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := map[string]any{"status": word, "checks": checks}
	if s.cfg.ReadyWarnings != nil {
		if warn := s.cfg.ReadyWarnings(); len(warn) > 0 {
			body["warnings"] = warn
		}
	}
	json.NewEncoder(w).Encode(body)
}
