package web

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
	"go.yaml.in/yaml/v3"
)

// apiArticleIn is an article as a client sends it: the front-matter names
// (docs/ARCHITECTURE.md, "Articles and slugs") plus body (Markdown).
// Dates are strings as in front matter ("2026-11-13" or RFC 3339; without
// a zone, site.timezone).
type apiArticleIn struct {
	Slug        string   `json:"slug"`
	Title       string   `json:"title"`
	Date        string   `json:"date"`
	Updated     string   `json:"updated"`
	Author      string   `json:"author"`
	AuthorEmail string   `json:"author_email"`
	Tags        []string `json:"tags"`
	Summary     string   `json:"summary"`
	Image       string   `json:"image"`
	ImageAlt    string   `json:"image_alt"`
	Link        string   `json:"link"`
	Draft       bool     `json:"draft"`
	Body        string   `json:"body"`
}

// apiArticlePatch changes some fields of an article: an absent (or null)
// field stays as it is.
type apiArticlePatch struct {
	Title       *string   `json:"title"`
	Date        *string   `json:"date"`
	Updated     *string   `json:"updated"`
	Author      *string   `json:"author"`
	AuthorEmail *string   `json:"author_email"`
	Tags        *[]string `json:"tags"`
	Summary     *string   `json:"summary"`
	Image       *string   `json:"image"`
	ImageAlt    *string   `json:"image_alt"`
	Link        *string   `json:"link"`
	Draft       *bool     `json:"draft"`
	Body        *string   `json:"body"`
}

// apiArticleOut is an article as the API answers: the input names plus
// what Herald knows of it.
type apiArticleOut struct {
	Slug        string   `json:"slug"`
	Title       string   `json:"title"`
	Date        string   `json:"date"`
	Updated     string   `json:"updated"`
	Author      string   `json:"author,omitempty"`
	AuthorEmail string   `json:"author_email,omitempty"`
	Tags        []string `json:"tags"`
	TagSlugs    []string `json:"tag_slugs"`
	Summary     string   `json:"summary"`
	Image       string   `json:"image,omitempty"`
	ImageAlt    string   `json:"image_alt,omitempty"`
	Link        string   `json:"link,omitempty"`
	Draft       bool     `json:"draft"`
	Body        *string  `json:"body,omitempty"`      // not in lists
	BodyHTML    *string  `json:"body_html,omitempty"` // not in lists
	Status      string   `json:"status"`
	Source      string   `json:"source"`
	SourcePath  string   `json:"source_path,omitempty"`
	URL         string   `json:"url"`
	FirstSeen   string   `json:"first_seen,omitempty"`
}

type apiArticleList struct {
	Articles   []apiArticleOut `json:"articles"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

func (a *api) articleOut(ar *article.Article, full bool) apiArticleOut {
	o := apiArticleOut{
		Slug:        ar.Slug,
		Title:       ar.Title,
		Date:        ar.Published.UTC().Format(time.RFC3339),
		Updated:     ar.Updated.UTC().Format(time.RFC3339),
		Author:      ar.AuthorName,
		AuthorEmail: ar.AuthorEmail,
		Tags:        []string{},
		TagSlugs:    []string{},
		Summary:     ar.Summary,
		Link:        ar.Link,
		Draft:       ar.Draft,
		Status:      ar.State(a.now()),
		Source:      ar.Source,
		SourcePath:  ar.SourcePath,
		URL:         strings.TrimRight(a.site.BaseURL, "/") + "/articles/" + ar.Slug,
	}
	for _, t := range ar.Tags {
		o.Tags = append(o.Tags, t.Name)
		o.TagSlugs = append(o.TagSlugs, t.Slug)
	}
	if ar.Image != nil {
		o.Image, o.ImageAlt = ar.Image.URL, ar.Image.Alt
		if o.Image == "" && ar.Image.MediaPath != "" {
			o.Image = ar.Image.MediaPath
		}
	}
	if !ar.FirstSeen.IsZero() {
		o.FirstSeen = ar.FirstSeen.UTC().Format(time.RFC3339)
	}
	if full {
		body, html := ar.Body, ar.BodyHTML
		o.Body, o.BodyHTML = &body, &html
	}
	return o
}

// Paging: ?limit= (1..apiMaxLimit, default apiDefaultLimit) and an opaque
// ?cursor= naming the last (published, id) seen.
const (
	apiDefaultLimit = 20
	apiMaxLimit     = 100
)

func encodeCursor(c article.Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Published.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)))
}

func decodeCursor(s string) (*article.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		p, id, ok := strings.Cut(string(b), ".")
		us, err1 := strconv.ParseInt(p, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if ok && err1 == nil && err2 == nil && n > 0 {
			return &article.Cursor{Published: time.UnixMicro(us).UTC(), ID: n}, nil
		}
	}
	return nil, &HTTPError{Status: http.StatusBadRequest, Field: "cursor", Msg: "cursor is not one this API gave out (use next_cursor as it is)"}
}

func queryLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return apiDefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > apiMaxLimit {
		return 0, &HTTPError{Status: http.StatusBadRequest, Field: "limit", Msg: fmt.Sprintf("limit must be 1 to %d", apiMaxLimit)}
	}
	return n, nil
}

// listArticles: GET /api/v1/articles?status=&tag=&limit=&cursor=
func listArticles(a *api, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := article.ListFilter{Now: a.now()}
	switch st := q.Get("status"); st {
	case "", "all":
	case article.StatePublished, article.StateScheduled, article.StateDraft, article.StateRemoved:
		f.State = st
	default:
		return &HTTPError{Status: http.StatusBadRequest, Field: "status", Msg: "status must be published, scheduled, draft, removed or all"}
	}
	if t := q.Get("tag"); t != "" {
		if f.Tag = article.Slugify(t); f.Tag == "" {
			return &HTTPError{Status: http.StatusBadRequest, Field: "tag", Msg: "tag has no letters or digits"}
		}
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	if c := q.Get("cursor"); c != "" {
		if f.After, err = decodeCursor(c); err != nil {
			return err
		}
	}
	f.Limit = limit + 1
	items, err := a.cfg.Store.ListAllArticles(r.Context(), f)
	if err != nil {
		return err
	}
	out := apiArticleList{Articles: []apiArticleOut{}}
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		out.NextCursor = encodeCursor(article.Cursor{Published: last.Published, ID: last.ID})
	}
	for i := range items {
		out.Articles = append(out.Articles, a.articleOut(&items[i], false))
	}
	writeAPIJSON(w, r, http.StatusOK, out)
	return nil
}

// pathSlug is the {slug} of the URL; one that is not a slug names nothing.
func pathSlug(r *http.Request) (string, error) {
	s := r.PathValue("slug")
	if s == "" || article.Slugify(s) != s {
		return "", &HTTPError{Status: http.StatusNotFound, Field: "slug", Msg: fmt.Sprintf("no article %q", s)}
	}
	return s, nil
}

func (a *api) getArticle(r *http.Request) (*article.Article, error) {
	slug, err := pathSlug(r)
	if err != nil {
		return nil, err
	}
	ar, err := a.cfg.Store.GetArticle(r.Context(), slug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &HTTPError{Status: http.StatusNotFound, Field: "slug", Msg: fmt.Sprintf("no article %q", slug)}
	}
	return ar, err
}

// getArticle: GET /api/v1/articles/{slug}
func getArticle(a *api, w http.ResponseWriter, r *http.Request) error {
	ar, err := a.getArticle(r)
	if err != nil {
		return err
	}
	writeAPIJSON(w, r, http.StatusOK, a.articleOut(ar, true))
	return nil
}

// errNotAPIArticle refuses to change an article the API does not own:
// for one from the content folder the file is the source of truth.
func errNotAPIArticle(ar *article.Article) error {
	msg := fmt.Sprintf("article %q was imported from %s: re-import that file to change it", ar.Slug, ar.SourcePath)
	if ar.Source == article.SourceFile {
		msg = fmt.Sprintf("article %q comes from the content folder file %s: edit or delete that file instead", ar.Slug, ar.SourcePath)
	}
	return &HTTPError{Status: http.StatusConflict, Field: "slug", Msg: msg}
}

// createArticle: POST /api/v1/articles, one request to publish.
func createArticle(a *api, w http.ResponseWriter, r *http.Request) error {
	var in apiArticleIn
	if err := a.decodeJSON(w, r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Slug) == "" {
		return a.createDerived(w, r, in)
	}
	ar, err := a.validate(in)
	if err != nil {
		return err
	}
	if old, err := a.cfg.Store.GetArticle(r.Context(), ar.Slug); err == nil {
		if old.Source != article.SourceAPI {
			return errNotAPIArticle(old)
		}
		return &HTTPError{Status: http.StatusConflict, Field: "slug", Msg: fmt.Sprintf("article %q exists: PUT %s/articles/%s to change it", ar.Slug, apiPrefix, ar.Slug)}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// The look-up above gives the helpful message; CreateArticle is the
	// guard when two clients create one slug at once.
	if err := a.cfg.Store.CreateArticle(r.Context(), ar, a.now()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return &HTTPError{Status: http.StatusConflict, Field: "slug", Msg: fmt.Sprintf("article %q exists: PUT %s/articles/%s to change it", ar.Slug, apiPrefix, ar.Slug)}
		}
		return err
	}
	a.keepImage(r, ar)
	a.created(w, r, ar)
	return nil
}

// createDerived creates an article sent without a slug: having no file
// name, it takes one made from the title by the tag-slug rule, with -2,
// -3, … when that is taken (docs/ARCHITECTURE.md, "Articles and slugs"). The store
// picks the free one in the insert's transaction, so concurrent creates
// of one title get distinct slugs. Like any slug it never changes after.
func (a *api) createDerived(w http.ResponseWriter, r *http.Request, in apiArticleIn) error {
	if strings.TrimSpace(in.Title) != "" {
		if in.Slug = article.Slugify(in.Title); in.Slug == "" {
			return &HTTPError{Status: http.StatusUnprocessableEntity, Field: "slug",
				Msg: fmt.Sprintf("title %q has no letters or digits to make a slug from: send a slug", in.Title)}
		}
	}
	ar, err := a.validate(in)
	if err != nil {
		return err
	}
	if err := a.cfg.Store.CreateArticleFreeSlug(r.Context(), ar, a.now()); err != nil {
		return err
	}
	a.keepImage(r, ar)
	a.created(w, r, ar)
	return nil
}

// keepImage fetches the remote image of a stored article now, if it is
// not kept yet (docs/ARCHITECTURE.md, "Remote images"). A failure is
// logged: the article stays stored, and the content sync retries.
func (a *api) keepImage(r *http.Request, ar *article.Article) {
	img := ar.Image
	if a.cfg.Images == nil || img == nil || img.URL == "" || img.Kept != nil {
		return
	}
	if _, err := a.cfg.Images.Keep(r.Context(), img.URL); err != nil {
		a.log.WarnContext(r.Context(), "article image not kept", slog.String("slug", ar.Slug),
			slog.String("image", img.URL), slog.Any("err", err))
	}
}

func (a *api) created(w http.ResponseWriter, r *http.Request, ar *article.Article) {
	w.Header().Set("Location", apiPrefix+"/articles/"+ar.Slug)
	writeAPIJSON(w, r, http.StatusCreated, a.articleOut(ar, true))
}

// updateArticle: PUT /api/v1/articles/{slug} replaces an API article.
func updateArticle(a *api, w http.ResponseWriter, r *http.Request) error {
	old, err := a.getArticle(r)
	if err != nil {
		return err
	}
	var in apiArticleIn
	if err := a.decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Slug != "" && article.Slugify(in.Slug) != old.Slug {
		return &HTTPError{Status: http.StatusUnprocessableEntity, Field: "slug", Msg: fmt.Sprintf("slug %q differs from the URL's %q: slugs never change", in.Slug, old.Slug)}
	}
	if old.Source != article.SourceAPI {
		return errNotAPIArticle(old)
	}
	in.Slug = old.Slug
	return a.save(w, r, in)
}

// patchArticle: PATCH /api/v1/articles/{slug} changes some fields;
// {"draft": true} unpublishes, {"draft": false} publishes again.
func patchArticle(a *api, w http.ResponseWriter, r *http.Request) error {
	old, err := a.getArticle(r)
	if err != nil {
		return err
	}
	var p apiArticlePatch
	if err := a.decodeJSON(w, r, &p); err != nil {
		return err
	}
	if old.Source != article.SourceAPI {
		return errNotAPIArticle(old)
	}
	in := a.articleIn(old)
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.Title, p.Title)
	set(&in.Date, p.Date)
	set(&in.Updated, p.Updated)
	set(&in.Author, p.Author)
	set(&in.AuthorEmail, p.AuthorEmail)
	set(&in.Summary, p.Summary)
	set(&in.Image, p.Image)
	set(&in.ImageAlt, p.ImageAlt)
	set(&in.Link, p.Link)
	set(&in.Body, p.Body)
	if p.Tags != nil {
		in.Tags = *p.Tags
	}
	if p.Draft != nil {
		in.Draft = *p.Draft
	}
	return a.save(w, r, in)
}

func (a *api) save(w http.ResponseWriter, r *http.Request, in apiArticleIn) error {
	ar, err := a.validate(in)
	if err != nil {
		return err
	}
	if _, err := a.cfg.Store.UpsertArticle(r.Context(), ar, a.now()); err != nil {
		return err
	}
	a.keepImage(r, ar)
	writeAPIJSON(w, r, http.StatusOK, a.articleOut(ar, true))
	return nil
}

// deleteArticle: DELETE /api/v1/articles/{slug}. Articles from the content
// folder are refused (delete the file); imported ones may go.
func deleteArticle(a *api, w http.ResponseWriter, r *http.Request) error {
	ar, err := a.getArticle(r)
	if err != nil {
		return err
	}
	if ar.Source == article.SourceFile {
		return errNotAPIArticle(ar)
	}
	if err := a.cfg.Store.DeleteArticle(r.Context(), ar.Slug); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// articleIn is what a client would send to get ar back: what PATCH
// changes. A summary equal to the body's first paragraph was derived, so
// it stays derived when the body changes.
func (a *api) articleIn(ar *article.Article) apiArticleIn {
	in := apiArticleIn{
		Slug:        ar.Slug,
		Title:       ar.Title,
		Date:        ar.Published.UTC().Format(time.RFC3339Nano),
		Author:      ar.AuthorName,
		AuthorEmail: ar.AuthorEmail,
		Summary:     ar.Summary,
		Link:        ar.Link,
		Draft:       ar.Draft,
		Body:        ar.Body,
	}
	for _, t := range ar.Tags {
		in.Tags = append(in.Tags, t.Name)
	}
	if ar.Image != nil {
		in.Image, in.ImageAlt = ar.Image.URL, ar.Image.Alt
		if in.Image == "" && ar.Image.MediaPath != "" {
			in.Image = "/" + ar.Image.MediaPath
		}
	}
	if _, first, err := a.cfg.Parser.RenderBody(ar.Body); err == nil && article.Excerpt(first, 300) == ar.Summary {
		in.Summary = ""
	}
	return in
}

// validate checks and sanitises an article exactly as a file in the
// content folder is: it writes the fields as front matter and parses that
// with the content folder's parser. A problem is a 422 naming its field.
func (a *api) validate(in apiArticleIn) (*article.Article, error) {
	invalid := func(field, msg string) error {
		return &HTTPError{Status: http.StatusUnprocessableEntity, Field: field, Msg: msg}
	}
	if strings.TrimSpace(in.Title) == "" {
		return nil, invalid("title", "title is required")
	}
	if strings.TrimSpace(in.Date) == "" {
		return nil, invalid("date", "date is required (2018-11-13 or RFC 3339)")
	}
	slug := article.Slugify(in.Slug)
	if slug == "" {
		return nil, invalid("slug", fmt.Sprintf("slug %q has no letters or digits", in.Slug))
	}
	var fm yaml.Node
	fm.Kind = yaml.MappingNode
	add := func(key string, v *yaml.Node) {
		fm.Content = append(fm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	}
	str := func(key, v string) {
		if v != "" {
			add(key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v})
		}
	}
	str("slug", slug)
	str("title", in.Title)
	str("date", in.Date)
	str("updated", in.Updated)
	str("author", in.Author)
	str("author_email", in.AuthorEmail)
	if len(in.Tags) > 0 {
		if _, err := article.TagSlugs(in.Tags); err != nil {
			// Bad client input like any over-long tag list: 400, as everywhere.
			return nil, &HTTPError{Status: http.StatusBadRequest, Field: "tags", Msg: err.Error()}
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, t := range in.Tags {
			if strings.TrimSpace(t) == "" {
				return nil, invalid("tags", "tags must not be empty strings")
			}
			seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t})
		}
		add("tags", seq)
	}
	str("summary", in.Summary)
	str("image", in.Image)
	str("image_alt", in.ImageAlt)
	str("link", in.Link)
	if in.Draft {
		str("draft", "true")
	}
	yml, err := yaml.Marshal(&fm)
	if err != nil {
		return nil, invalid("", "cannot encode the article: "+err.Error())
	}
	doc := make([]byte, 0, len(yml)+len(in.Body)+16)
	doc = append(doc, "---\n"...)
	doc = append(doc, yml...)
	doc = append(doc, "---\n"...)
	doc = append(doc, in.Body...)
	ar, err := a.cfg.Parser.Parse(slug+".md", doc)
	if err != nil {
		var pe *article.ParseError
		if errors.As(err, &pe) {
			return nil, invalid(fieldAt(yml, pe.Line), pe.Msg)
		}
		return nil, err
	}
	ar.Source, ar.SourcePath = article.SourceAPI, ""
	// The hash leaves the slug out: the store may suffix a derived slug
	// (-2), and a later PUT of the same content must still be unchanged.
	noSlug := fm
	noSlug.Content = fm.Content[2:]
	ymlNoSlug, err := yaml.Marshal(&noSlug)
	if err != nil {
		return nil, invalid("", "cannot encode the article: "+err.Error())
	}
	sum := sha256.New()
	sum.Write(ymlNoSlug)
	sum.Write([]byte("---\n"))
	sum.Write([]byte(in.Body))
	ar.ContentHash = hex.EncodeToString(sum.Sum(nil))
	return ar, nil
}

// fieldAt names the front-matter key that the parser's error line (in
// the document "---\n" + yml + "---\n" + body) points into.
func fieldAt(yml []byte, line int) string {
	if line <= 0 {
		return ""
	}
	var root yaml.Node
	if yaml.Unmarshal(yml, &root) != nil || len(root.Content) == 0 {
		return ""
	}
	fmLine := line - 1 // the parser counts the opening "---" as line 1
	if fmLine > strings.Count(string(yml), "\n") {
		return "body"
	}
	field := ""
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Line <= fmLine {
			field = m.Content[i].Value
		}
	}
	return field
}
