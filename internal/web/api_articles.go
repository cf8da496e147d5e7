package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/newsroom"
	"github.com/herald-news/herald/internal/store"
)

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
		switch {
		case ar.Image.Upload():
			o.Image = ar.Image.Ref()
		case o.Image == "" && ar.Image.MediaPath != "":
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

// createArticle: POST /api/v1/articles, one request to publish.
func createArticle(a *api, w http.ResponseWriter, r *http.Request) error {
	var in newsroom.Input
	if err := a.decodeJSON(w, r, &in); err != nil {
		return err
	}
	ar, err := a.news.Create(r.Context(), actorOf(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", apiPrefix+"/articles/"+ar.Slug)
	writeAPIJSON(w, r, http.StatusCreated, a.articleOut(ar, true))
	return nil
}

// updateArticle: PUT /api/v1/articles/{slug} replaces an API article.
func updateArticle(a *api, w http.ResponseWriter, r *http.Request) error {
	slug, err := pathSlug(r)
	if err != nil {
		return err
	}
	var in newsroom.Input
	if err := a.decodeJSON(w, r, &in); err != nil {
		return err
	}
	return a.saved(w, r)(a.news.Replace(r.Context(), actorOf(r), slug, in))
}

// patchArticle: PATCH /api/v1/articles/{slug} changes some fields;
// {"draft": true} unpublishes, {"draft": false} publishes again.
func patchArticle(a *api, w http.ResponseWriter, r *http.Request) error {
	slug, err := pathSlug(r)
	if err != nil {
		return err
	}
	var p newsroom.Patch
	if err := a.decodeJSON(w, r, &p); err != nil {
		return err
	}
	return a.saved(w, r)(a.news.Patch(r.Context(), actorOf(r), slug, p))
}

// saved answers with the article a write stored.
func (a *api) saved(w http.ResponseWriter, r *http.Request) func(*article.Article, error) error {
	return func(ar *article.Article, err error) error {
		if err != nil {
			return err
		}
		writeAPIJSON(w, r, http.StatusOK, a.articleOut(ar, true))
		return nil
	}
}

// deleteArticle: DELETE /api/v1/articles/{slug}. Articles from the content
// folder are refused (delete the file); imported ones may go.
func deleteArticle(a *api, w http.ResponseWriter, r *http.Request) error {
	slug, err := pathSlug(r)
	if err != nil {
		return err
	}
	if err := a.news.Delete(r.Context(), actorOf(r), slug, r.URL.Query().Get("base")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// newsroomError turns the newsroom's typed errors into the API's answer:
// its status, field and message (called by fail, the one place errors
// become responses). ok is false for other errors.
func newsroomError(err error) (he *HTTPError, ok bool) {
	var inv *newsroom.InvalidError
	var ro *newsroom.ReadOnlyError
	var ex *newsroom.ExistsError
	switch {
	case errors.Is(err, article.ErrTagList):
		// Bad client input like any over-long tag list: 400, as everywhere.
		return &HTTPError{Status: http.StatusBadRequest, Field: "tags", Msg: err.Error()}, true
	case errors.As(err, &inv):
		e := inv.Errors[0]
		return &HTTPError{Status: http.StatusUnprocessableEntity, Field: e.Field, Msg: e.Message}, true
	case errors.As(err, &ro):
		return &HTTPError{Status: http.StatusConflict, Field: "slug", Msg: ro.Error()}, true
	case errors.As(err, &ex):
		return &HTTPError{Status: http.StatusConflict, Field: "slug",
			Msg: fmt.Sprintf("article %q exists: PUT %s/articles/%s to change it", ex.Slug, apiPrefix, ex.Slug)}, true
	}
	return nil, false
}
