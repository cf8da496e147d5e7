package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/newsroom"
	"github.com/herald-news/herald/internal/store"
)

// The editor (docs/ARCHITECTURE.md, "Admin editor"): the article list,
// the article form and its actions, the live preview and revisions. Every
// write goes through the newsroom service the JSON API uses, and lands in
// the audit log.

// articlesPageSize is how many articles a page of the list shows.
const articlesPageSize = 50

type articleRow struct {
	Slug, Title, Status, Source, SourcePath string
	Date                                    time.Time
	Tags                                    []string
}

type articlesData struct {
	Rows                 []articleRow
	Total                int
	Status, Tag, Q       string
	Statuses             []string
	Next, First, Filters string // query strings of the next and first pages
}

// editorOn is the 404 for a server without the editor wired.
func (a *adminUI) editorOn() error {
	if a.news == nil {
		return Errorf(http.StatusNotFound, "The editor is not available here.")
	}
	return nil
}

// articlesPage: GET /admin/articles?status=&tag=&q=&cursor=
func (a *adminUI) articlesPage(w http.ResponseWriter, r *http.Request) error {
	if err := a.editorOn(); err != nil {
		return err
	}
	q := r.URL.Query()
	now := a.s.cfg.Now()
	d := articlesData{Status: q.Get("status"), Q: strings.TrimSpace(q.Get("q")), Tag: strings.TrimSpace(q.Get("tag")),
		Statuses: []string{article.StatePublished, article.StateScheduled, article.StateDraft, article.StateRemoved}}
	f := article.ListFilter{Now: now, Title: d.Q}
	var errs []fieldError
	switch d.Status {
	case "", "all":
		d.Status = ""
	case article.StatePublished, article.StateScheduled, article.StateDraft, article.StateRemoved:
		f.State = d.Status
	default:
		errs = append(errs, fieldError{"status", "Choose a status from the list."})
		d.Status = ""
	}
	if d.Tag != "" {
		if f.Tag = article.Slugify(d.Tag); f.Tag == "" {
			errs = append(errs, fieldError{"tag", "A tag needs letters or digits."})
		}
	}
	if len(errs) > 0 {
		a.render(w, r, http.StatusBadRequest, "articles", adminView{Title: "Articles", Data: d, Errors: errs})
		return nil
	}
	if c := q.Get("cursor"); c != "" {
		var err error
		if f.After, err = decodeCursor(c); err != nil {
			return Errorf(http.StatusBadRequest, "This page link is damaged: go back to the first page.")
		}
	}
	total, err := a.cfg.Articles.CountAllArticles(r.Context(), f)
	if err != nil {
		return err
	}
	f.Limit = articlesPageSize + 1
	items, err := a.cfg.Articles.ListAllArticles(r.Context(), f)
	if err != nil {
		return err
	}
	keep := url.Values{}
	for k, v := range map[string]string{"status": d.Status, "tag": d.Tag, "q": d.Q} {
		if v != "" {
			keep.Set(k, v)
		}
	}
	d.Filters = keep.Encode()
	if len(items) > articlesPageSize {
		items = items[:articlesPageSize]
		last := items[len(items)-1]
		next := url.Values{}
		for k, v := range keep {
			next[k] = v
		}
		next.Set("cursor", encodeCursor(article.Cursor{Published: last.Published, ID: last.ID}))
		d.Next = next.Encode()
	}
	if f.After != nil {
		d.First = "?" + d.Filters
	}
	d.Total = total
	d.Rows = make([]articleRow, len(items))
	for i := range items {
		ar := &items[i]
		row := articleRow{Slug: ar.Slug, Title: ar.Title, Status: ar.State(now), Source: ar.Source, SourcePath: ar.SourcePath, Date: ar.Published}
		for _, t := range ar.Tags {
			row.Tags = append(row.Tags, t.Name)
		}
		d.Rows[i] = row
	}
	a.render(w, r, http.StatusOK, "articles", adminView{Title: "Articles", Data: d})
	return nil
}

// articleForm is what the article page shows: the fields as typed, and
// what the editor knows of the stored article.
type articleForm struct {
	New    bool
	In     newsroom.Input
	Tags   string // in.Tags as typed: comma separated
	Status string
	Source string
	Path   string // the content-folder file of a read-only article
	// Updated is when the stored article last changed, in the site's
	// time zone: the form leaves the field empty, so a save moves it.
	Updated  string
	ReadOnly bool
	URL      string
	// Preview is the rendered body (the parser's, sanitised), shown when
	// asked for without JavaScript.
	Preview   template.HTML
	HasPrev   bool
	Revisions []newsroom.Revision
	// Conflict: someone saved since this form was loaded; Theirs is their
	// version's revision page.
	Conflict *newsroom.ConflictError
	Theirs   string
	Limit    string // admin.max_upload, for the hint
}

// newSlug is the {slug} of the new-article form.
const newSlug = "new"

// newArticlePage: GET /admin/articles/new.
func (a *adminUI) newArticlePage(w http.ResponseWriter, r *http.Request) error {
	in := newsroom.Input{Date: a.s.cfg.Now().In(a.s.cfg.Site.Location).Format(time.RFC3339), Author: who(r).User.Name,
		AuthorEmail: who(r).User.Email}
	a.showArticle(w, r, http.StatusOK, &articleForm{New: true, In: in}, nil)
	return nil
}

// articlePage: GET /admin/articles/{slug}.
func (a *adminUI) articlePage(w http.ResponseWriter, r *http.Request) error {
	if err := a.editorOn(); err != nil {
		return err
	}
	if r.PathValue("slug") == newSlug {
		return a.newArticlePage(w, r)
	}
	ar, err := a.loadArticle(r)
	if err != nil {
		return err
	}
	f := &articleForm{In: a.news.InputOf(ar)}
	if ar.Source == article.SourceAPI {
		if f.In.Base, err = a.news.Version(r.Context(), ar.Slug); err != nil {
			return err
		}
	}
	if err := a.describe(r.Context(), f, ar); err != nil {
		return err
	}
	a.showArticle(w, r, http.StatusOK, f, nil)
	return nil
}

// target is the article the URL names, for an editor's action on it.
func (a *adminUI) target(r *http.Request) (*article.Article, error) {
	if err := a.editorOn(); err != nil {
		return nil, err
	}
	return a.loadArticle(r)
}

// revisionTarget is the article and the revision id the URL names.
func (a *adminUI) revisionTarget(r *http.Request) (*article.Article, int64, error) {
	ar, err := a.target(r)
	if err != nil {
		return nil, 0, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, 0, Errorf(http.StatusNotFound, "There is no such revision.")
	}
	return ar, id, nil
}

// loadArticle is the article the URL's {slug} names (404 otherwise).
func (a *adminUI) loadArticle(r *http.Request) (*article.Article, error) {
	slug := r.PathValue("slug")
	if slug == "" || article.Slugify(slug) != slug {
		return nil, Errorf(http.StatusNotFound, "There is no article %q.", slug)
	}
	ar, err := a.cfg.Articles.GetArticle(r.Context(), slug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(http.StatusNotFound, "There is no article %q.", slug)
	}
	return ar, err
}

// describe fills in what the stored article ar says beyond its fields.
func (a *adminUI) describe(ctx context.Context, f *articleForm, ar *article.Article) error {
	f.Status, f.Source, f.Path = ar.State(a.s.cfg.Now()), ar.Source, ar.SourcePath
	f.ReadOnly = ar.Source != article.SourceAPI
	f.URL = "/articles/" + ar.Slug
	f.In.Slug = ar.Slug
	f.Updated = ar.Updated.In(a.s.cfg.Site.Location).Format("2006-01-02 15:04 MST")
	if f.ReadOnly {
		return nil
	}
	revs, err := a.news.Revisions(ctx, ar.Slug)
	f.Revisions = revs
	return err
}

func (a *adminUI) showArticle(w http.ResponseWriter, r *http.Request, status int, f *articleForm, errs []fieldError) {
	f.Tags = strings.Join(f.In.Tags, ", ")
	f.Limit = media.FormatSize(a.uploadLimit())
	title := "New article"
	if !f.New {
		title = f.In.Title
		if title == "" {
			title = f.In.Slug
		}
	}
	a.render(w, r, status, "article", adminView{Title: title, Data: f, Errors: errs})
}

// uploadLimit is admin.max_upload.
func (a *adminUI) uploadLimit() int64 {
	if a.cfg.MaxUpload > 0 {
		return a.cfg.MaxUpload
	}
	return media.DefaultLimit
}

// editorForm reads a form, multipart (with an image) or not.
func editorForm(r *http.Request) error {
	err := r.ParseMultipartForm(1 << 20)
	if errors.Is(err, http.ErrNotMultipart) {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return Errorf(http.StatusRequestEntityTooLarge, "The form is larger than the upload limit allows.")
	}
	if err != nil {
		return Errorf(http.StatusBadRequest, "The form could not be read: %v.", err)
	}
	return nil
}

// articleInput is the article form's fields as typed.
func articleInput(r *http.Request) newsroom.Input {
	v := r.PostFormValue
	in := newsroom.Input{Slug: strings.TrimSpace(v("slug")), Title: v("title"), Date: strings.TrimSpace(v("date")),
		Updated: strings.TrimSpace(v("updated")), Author: v("author"), AuthorEmail: strings.TrimSpace(v("author_email")),
		Summary: v("summary"), Image: strings.TrimSpace(v("image")), ImageAlt: v("image_alt"), Link: strings.TrimSpace(v("link")),
		Body: strings.ReplaceAll(v("body"), "\r\n", "\n"), Base: v("base")}
	for _, t := range strings.Split(v("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			in.Tags = append(in.Tags, t)
		}
	}
	return in
}

// articleErrors turns the newsroom's errors into the form's.
func articleErrors(errs []newsroom.FieldError) []fieldError {
	out := make([]fieldError, len(errs))
	for i, e := range errs {
		out[i] = fieldError{Field: e.Field, Msg: sentence(e.Message)}
	}
	return out
}

// editorActor is the signed-in user as revisions name them.
func (a *adminUI) editorActor(r *http.Request) newsroom.Actor {
	wh := who(r)
	return newsroom.Actor{UserID: wh.User.ID, Email: wh.User.Email, IP: a.s.clientIP(r)}
}

// editorAudit keeps an editor's write in the audit log.
func (a *adminUI) editorAudit(r *http.Request, action, detail string) {
	wh := who(r)
	e := store.AuditEntry{At: a.s.cfg.Now().UTC(), UserID: wh.User.ID, Email: wh.User.Email, Action: action, Detail: detail, IP: a.s.clientIP(r)}
	if _, err := a.cfg.Store.AddAudit(context.WithoutCancel(r.Context()), e); err != nil {
		a.s.log.ErrorContext(r.Context(), "audit log write failed", slog.String("action", action), slog.Any("err", err))
	}
}

// saveArticle: POST /admin/articles/new and /admin/articles/{slug}, the
// article form. action: preview, draft, publish, schedule, or (an
// existing article) save, keeping its status.
func (a *adminUI) saveArticle(w http.ResponseWriter, r *http.Request) error {
	if err := a.editorOn(); err != nil {
		return err
	}
	if err := editorForm(r); err != nil {
		return err
	}
	f := &articleForm{New: r.PathValue("slug") == newSlug, In: articleInput(r)}
	var old *article.Article
	if !f.New {
		var err error
		if old, err = a.loadArticle(r); err != nil {
			return err
		}
		if err := a.describe(r.Context(), f, old); err != nil {
			return err
		}
		if f.ReadOnly {
			return &newsroom.ReadOnlyError{Slug: old.Slug, Source: old.Source, Path: old.SourcePath}
		}
		f.In.Slug = old.Slug
	}
	// An image sent with the form is stored first, whatever the action, so
	// it is not lost and its path fills the image field.
	if errs := a.formUpload(r, f); errs != nil {
		a.showArticle(w, r, http.StatusUnprocessableEntity, f, errs)
		return nil
	}
	in := f.In
	action := r.PostFormValue("action")
	switch action {
	case "preview":
		p := a.news.Preview(in)
		f.Preview, f.HasPrev = template.HTML(p.HTML), true
		status := http.StatusOK
		if len(p.Errors) > 0 {
			status = http.StatusUnprocessableEntity
		}
		a.showArticle(w, r, status, f, articleErrors(p.Errors))
		return nil
	case "draft":
		in.Draft = true
	case "publish":
		in.Draft = false
		in.Date = a.s.cfg.Now().UTC().Format(time.RFC3339)
	case "schedule":
		ar, err := a.news.Parse(in)
		if err == nil {
			err = a.news.CheckSchedule(ar.Published)
		}
		if err != nil {
			return a.articleFailed(w, r, f, err)
		}
		in.Draft = false
	case "save":
		if f.New {
			return Errorf(http.StatusBadRequest, "Choose publish, save as draft or schedule.")
		}
		in.Draft = old.Draft
	default:
		return Errorf(http.StatusBadRequest, "Unknown action %q.", action)
	}
	var sv *newsroom.Saved
	var err error
	if f.New {
		sv, err = a.news.Create(r.Context(), a.editorActor(r), in)
	} else {
		sv, err = a.news.Replace(r.Context(), a.editorActor(r), old.Slug, in)
	}
	if err != nil {
		return a.articleFailed(w, r, f, err)
	}
	verb := map[string]string{"draft": "saved as a draft", "publish": "published", "schedule": "scheduled", "save": "saved"}[action]
	if sv.Changed || f.New {
		a.editorAudit(r, "article."+action, sv.Slug)
	}
	msg := fmt.Sprintf("%q %s.", sv.Title, verb)
	if !sv.Changed {
		msg = "Nothing changed."
	}
	a.redirect(w, r, "/admin/articles/"+sv.Slug, msg)
	return nil
}

// articleFailed shows the form again with what was typed and why it did
// not save; errors other than the newsroom's field problems and conflicts
// go to the error page.
func (a *adminUI) articleFailed(w http.ResponseWriter, r *http.Request, f *articleForm, err error) error {
	var inv *newsroom.InvalidError
	var ce *newsroom.ConflictError
	var ex *newsroom.ExistsError
	switch {
	case errors.As(err, &inv):
		a.showArticle(w, r, http.StatusUnprocessableEntity, f, articleErrors(inv.Errors))
	case errors.Is(err, article.ErrTagList):
		a.showArticle(w, r, http.StatusUnprocessableEntity, f, []fieldError{{"tags", sentence(err.Error())}})
	case errors.As(err, &ex):
		a.showArticle(w, r, http.StatusConflict, f, []fieldError{{"slug", fmt.Sprintf("An article with the slug %q exists: choose another.", ex.Slug)}})
	case errors.As(err, &ce):
		// Nothing typed is lost: the form keeps it, now based on their
		// version, so saving again replaces theirs (kept as a revision).
		f.Conflict, f.In.Base = ce, ce.Current
		f.Theirs = "/admin/articles/" + ce.Slug + "/revisions/" + ce.Current
		by := ""
		if ce.Who != "" {
			by = " by " + ce.Who
		}
		a.showArticle(w, r, http.StatusConflict, f, []fieldError{{"", fmt.Sprintf(
			"Someone else saved this article%s since you opened it. Your text is still in the form below; their version is under Revisions. Saving again replaces theirs (it stays in the revisions).", by)}})
	default:
		return err
	}
	return nil
}

// formUpload stores an image sent with the article form (the file input
// image_upload) and makes its derivative the article's image.
func (a *adminUI) formUpload(r *http.Request, f *articleForm) []fieldError {
	if r.MultipartForm == nil || len(r.MultipartForm.File["image_upload"]) == 0 {
		return nil
	}
	fh := r.MultipartForm.File["image_upload"][0]
	if fh.Size == 0 && fh.Filename == "" {
		return nil // the empty file input of a form sent without one
	}
	if a.cfg.Media == nil {
		return []fieldError{{"image_upload", "Uploads are not available here."}}
	}
	file, err := fh.Open()
	if err != nil {
		return []fieldError{{"image_upload", "The upload could not be read."}}
	}
	defer file.Close()
	it, _, err := a.cfg.Media.Upload(r.Context(), fh.Filename, file, a.mediaActor(r))
	if err != nil {
		if mediaStatus(err) == 0 {
			a.s.log.ErrorContext(r.Context(), "admin: upload failed", slog.Any("err", err))
			return []fieldError{{"image_upload", "The upload failed. Please try again."}}
		}
		return []fieldError{{"image_upload", sentence(err.Error())}}
	}
	// The 1200 px derivative (the original when narrower): pages and
	// mail get a sized image, never a camera's full frame.
	f.In.Image = it.DerivativeURL(1200)
	return nil
}

// mediaActor is the signed-in user as the media service names them.
func (a *adminUI) mediaActor(r *http.Request) media.Actor {
	wh := who(r)
	return media.Actor{UserID: wh.User.ID, Email: wh.User.Email, IP: a.s.clientIP(r)}
}

// previewArticle: POST /admin/articles/{slug}/preview, the live preview's
// endpoint: the body rendered as the feeds have it (sanitised) and the
// field problems, as JSON. Nothing is stored.
func (a *adminUI) previewArticle(w http.ResponseWriter, r *http.Request) error {
	if err := a.editorOn(); err != nil {
		return err
	}
	if err := editorForm(r); err != nil {
		return err
	}
	p := a.news.Preview(articleInput(r))
	if p.Errors == nil {
		p.Errors = []newsroom.FieldError{}
	}
	writeAPIJSON(w, r, http.StatusOK, p)
	return nil
}

// unpublishArticle: POST /admin/articles/{slug}/unpublish.
func (a *adminUI) unpublishArticle(w http.ResponseWriter, r *http.Request) error {
	ar, err := a.target(r)
	if err != nil {
		return err
	}
	sv, err := a.news.Unpublish(r.Context(), a.editorActor(r), ar.Slug, r.PostFormValue("base"))
	if err != nil {
		return a.actionFailed(w, r, ar.Slug, err)
	}
	a.editorAudit(r, "article.unpublish", sv.Slug)
	a.redirect(w, r, "/admin/articles/"+sv.Slug, fmt.Sprintf("%q is a draft again: off the feeds and pages.", sv.Title))
	return nil
}

// actionFailed answers a one-button action that could not be done: a
// conflict back to the article with the message, else the error page.
func (a *adminUI) actionFailed(w http.ResponseWriter, r *http.Request, slug string, err error) error {
	var ce *newsroom.ConflictError
	if errors.As(err, &ce) {
		a.redirect(w, r, "/admin/articles/"+slug, "Not done: someone saved this article meanwhile. Check their version below and try again.")
		return nil
	}
	return err
}

// deleteArticle: POST /admin/articles/{slug}/delete, confirmed by typing
// the slug.
func (a *adminUI) deleteArticle(w http.ResponseWriter, r *http.Request) error {
	ar, err := a.target(r)
	if err != nil {
		return err
	}
	if strings.TrimSpace(r.PostFormValue("confirm")) != ar.Slug {
		f := &articleForm{In: a.news.InputOf(ar)}
		if err := a.describe(r.Context(), f, ar); err != nil {
			return err
		}
		f.In.Base = r.PostFormValue("base")
		a.showArticle(w, r, http.StatusUnprocessableEntity, f, []fieldError{{"confirm",
			fmt.Sprintf("To delete, type the slug %s exactly. Nothing was deleted.", ar.Slug)}})
		return nil
	}
	if err := a.news.Delete(r.Context(), a.editorActor(r), ar.Slug, r.PostFormValue("base")); err != nil {
		return a.actionFailed(w, r, ar.Slug, err)
	}
	a.editorAudit(r, "article.delete", ar.Slug)
	a.redirect(w, r, "/admin/articles", fmt.Sprintf("%q deleted, with its revisions.", ar.Title))
	return nil
}

type revisionData struct {
	Slug, Title string
	Rev         newsroom.Revision
	Tags        string
	Base        string
}

// revisionPage: GET /admin/articles/{slug}/revisions/{id}, one version
// with every field, and the restore button (the confirmation step).
func (a *adminUI) revisionPage(w http.ResponseWriter, r *http.Request) error {
	ar, id, err := a.revisionTarget(r)
	if err != nil {
		return err
	}
	rev, err := a.news.Revision(r.Context(), ar.Slug, id)
	if err != nil {
		return err
	}
	base, err := a.news.Version(r.Context(), ar.Slug)
	if err != nil {
		return err
	}
	d := revisionData{Slug: ar.Slug, Title: ar.Title, Rev: rev, Tags: strings.Join(rev.Input.Tags, ", "), Base: base}
	a.render(w, r, http.StatusOK, "revision", adminView{Title: "Revision of " + ar.Title, Data: d})
	return nil
}

// restoreRevision: POST /admin/articles/{slug}/revisions/{id}/restore.
func (a *adminUI) restoreRevision(w http.ResponseWriter, r *http.Request) error {
	ar, id, err := a.revisionTarget(r)
	if err != nil {
		return err
	}
	sv, err := a.news.Restore(r.Context(), a.editorActor(r), ar.Slug, id, r.PostFormValue("base"))
	if err != nil {
		return a.actionFailed(w, r, ar.Slug, err)
	}
	a.editorAudit(r, "article.restore", fmt.Sprintf("%s revision %d", sv.Slug, id))
	a.redirect(w, r, "/admin/articles/"+sv.Slug, fmt.Sprintf("Revision %d restored (as a new revision, so this too can be undone).", id))
	return nil
}
