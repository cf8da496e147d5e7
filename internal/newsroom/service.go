package newsroom

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
)

// Store is what the newsroom needs of the article store.
type Store interface {
	GetArticle(ctx context.Context, slug string) (*article.Article, error)
	// SaveArticle writes the article and its revision in one transaction.
	SaveArticle(ctx context.Context, a *article.Article, w *store.ArticleSave, now time.Time) (bool, error)
	DeleteArticle(ctx context.Context, slug string) error
	// ArticleVersion is the newest revision's id, 0 when there is none.
	ArticleVersion(ctx context.Context, slug string) (int64, error)
	ArticleRevisions(ctx context.Context, slug string) ([]store.Revision, error)
	ArticleRevision(ctx context.Context, slug string, id int64) (store.Revision, error)
}

// Service creates and changes articles written in Herald. Now and Log may
// be nil (time.Now, slog.Default()).
type Service struct {
	Store  Store
	Parser *article.Parser // the content folder's: articles are validated and sanitised as files are
	// Images, if set, keeps a written article's remote image at once;
	// else (or when that fails) the content sync does, later.
	Images Images
	Now    func() time.Time
	Log    *slog.Logger
}

// Images fetches a remote image once and keeps it in the media store
// (docs/ARCHITECTURE.md, "Remote images").
type Images interface {
	Keep(ctx context.Context, url string) (*article.Kept, error)
}

// Actor is who makes a write: a signed-in user (UserID, Email) or an API
// token (Token, its name), and the client's address.
type Actor struct {
	UserID int64
	Email  string
	Token  string
	IP     string
}

// Who names the actor in revisions and the audit log: the user's address,
// or "token NAME".
func (a Actor) Who() string {
	if a.Email != "" {
		return a.Email
	}
	if a.Token != "" {
		return "token " + a.Token
	}
	return "unknown"
}

// ExistsError: a create named a slug an article made in Herald holds.
type ExistsError struct{ Slug string }

func (e *ExistsError) Error() string { return fmt.Sprintf("article %q exists", e.Slug) }

// ReadOnlyError: the article comes from a file (the content folder or
// herald import), which is its source of truth.
type ReadOnlyError struct {
	Slug, Source, Path string
}

func (e *ReadOnlyError) Error() string {
	if e.Source == article.SourceFile {
		return fmt.Sprintf("article %q comes from the content folder file %s: edit or delete that file instead", e.Slug, e.Path)
	}
	return fmt.Sprintf("article %q was imported from %s: re-import that file to change it", e.Slug, e.Path)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// valid builds in or returns the error that says why not.
func (s *Service) valid(in Input) (*article.Article, error) {
	ar, errs, err := s.build(in)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, &InvalidError{Errors: errs}
	}
	return ar, nil
}

// editable loads the article at slug and refuses one from a file.
func (s *Service) editable(ctx context.Context, slug string) (*article.Article, error) {
	old, err := s.Store.GetArticle(ctx, slug)
	if err != nil {
		return nil, err
	}
	if old.Source != article.SourceAPI {
		return nil, &ReadOnlyError{Slug: old.Slug, Source: old.Source, Path: old.SourcePath}
	}
	return old, nil
}

// Create stores a new article. Without a slug it takes one made once
// from the title (with -2, -3, … when taken); it never changes after.
func (s *Service) Create(ctx context.Context, by Actor, in Input) (*Saved, error) {
	in.Base = "" // nothing to start from
	if strings.TrimSpace(in.Slug) == "" {
		// The store picks the free slug in the insert's transaction, so
		// concurrent creates of one title get distinct slugs.
		return s.write(ctx, by, "create", nil, store.SaveCreateFreeSlug, in)
	}
	if article.Slugify(in.Slug) == ReservedSlug {
		return nil, &InvalidError{Errors: []FieldError{{Field: "slug",
			Message: fmt.Sprintf("slug %q is reserved: the editor's page for a new article has that address; choose another", ReservedSlug)}}}
	}
	// The look-up gives the helpful error; the store's create is the guard
	// when two writers create one slug at once.
	if old, err := s.Store.GetArticle(ctx, article.Slugify(in.Slug)); err == nil {
		if old.Source != article.SourceAPI {
			return nil, &ReadOnlyError{Slug: old.Slug, Source: old.Source, Path: old.SourcePath}
		}
		return nil, &ExistsError{Slug: old.Slug}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return s.write(ctx, by, "create", nil, store.SaveCreate, in)
}

// Replace replaces every field of the article at slug (absent ones are
// cleared). A slug in in, if any, must be slug: slugs never change.
func (s *Service) Replace(ctx context.Context, by Actor, slug string, in Input) (*Saved, error) {
	old, err := s.editable(ctx, slug)
	if err != nil {
		return nil, err
	}
	if in.Slug != "" && article.Slugify(in.Slug) != old.Slug {
		return nil, &InvalidError{Errors: []FieldError{{Field: "slug",
			Message: fmt.Sprintf("slug %q differs from the article's %q: slugs never change", in.Slug, old.Slug)}}}
	}
	in.Slug = old.Slug
	return s.write(ctx, by, "replace", old, store.SaveReplace, in)
}

// Patch changes the fields p sets; {Draft: true} unpublishes.
func (s *Service) Patch(ctx context.Context, by Actor, slug string, p Patch) (*Saved, error) {
	return s.change(ctx, by, "patch", slug, p)
}

// Publish makes the article public now: not a draft, dated now.
func (s *Service) Publish(ctx context.Context, by Actor, slug, base string) (*Saved, error) {
	date, draft := s.now().UTC().Format(time.RFC3339Nano), false
	return s.change(ctx, by, "publish", slug, Patch{Date: &date, Draft: &draft, Base: &base})
}

// Schedule makes the article public at a future time.
func (s *Service) Schedule(ctx context.Context, by Actor, slug string, at time.Time, base string) (*Saved, error) {
	if err := s.CheckSchedule(at); err != nil {
		return nil, err
	}
	date, draft := at.UTC().Format(time.RFC3339Nano), false
	return s.change(ctx, by, "schedule", slug, Patch{Date: &date, Draft: &draft, Base: &base})
}

// CheckSchedule is the rule for a schedule's time: in the future. The
// editor checks a date typed with the other fields before it saves them.
func (s *Service) CheckSchedule(at time.Time) error {
	if !at.After(s.now()) {
		return &InvalidError{Errors: []FieldError{{Field: "date",
			Message: fmt.Sprintf("date %s is not in the future: publish now instead", at.UTC().Format(time.RFC3339))}}}
	}
	return nil
}

// Parse is the article in would store, as Validate checks it: an
// *InvalidError with every field problem otherwise. It writes nothing.
func (s *Service) Parse(in Input) (*article.Article, error) { return s.valid(in) }

// Unpublish takes the article off the feeds and pages: a draft again.
func (s *Service) Unpublish(ctx context.Context, by Actor, slug, base string) (*Saved, error) {
	draft := true
	return s.change(ctx, by, "unpublish", slug, Patch{Draft: &draft, Base: &base})
}

func (s *Service) change(ctx context.Context, by Actor, action, slug string, p Patch) (*Saved, error) {
	old, err := s.editable(ctx, slug)
	if err != nil {
		return nil, err
	}
	return s.write(ctx, by, action, old, store.SaveReplace, p.apply(s.InputOf(old)))
}

// keepImage fetches the stored article's remote image now, if it is not
// kept yet. A failure is logged, not returned: the article is stored,
// and the content sync tries again.
func (s *Service) keepImage(ctx context.Context, ar *article.Article) {
	img := ar.Image
	if s.Images == nil || img == nil || img.URL == "" || img.Kept != nil {
		return
	}
	k, err := s.Images.Keep(ctx, img.URL)
	if err != nil {
		s.log().WarnContext(ctx, "article image not kept", slog.String("slug", ar.Slug),
			slog.String("image", img.URL), slog.Any("err", err))
		return
	}
	img.Kept = k
}

// Delete deletes an article made in Herald or by herald import, and its
// revisions; one from the content folder is a *ReadOnlyError (delete the
// file). base is checked as for any write ("" no check).
func (s *Service) Delete(ctx context.Context, by Actor, slug, base string) error {
	ar, err := s.Store.GetArticle(ctx, slug)
	if err != nil {
		return err
	}
	if ar.Source == article.SourceFile {
		return &ReadOnlyError{Slug: ar.Slug, Source: ar.Source, Path: ar.SourcePath}
	}
	// The check and the delete are two statements: a save landing between
	// them is deleted with the article (the editor confirms a delete).
	if b, check, err := parseBase(base); err != nil {
		return err
	} else if cur, err := s.Store.ArticleVersion(ctx, ar.Slug); err != nil {
		return err
	} else if check && cur != b {
		return s.conflict(ctx, ar.Slug, base)
	}
	if err := s.Store.DeleteArticle(ctx, ar.Slug); err != nil {
		return err
	}
	s.logWrite(ctx, by, "delete", ar.Slug)
	return nil
}

func (s *Service) logWrite(ctx context.Context, by Actor, action, slug string) {
	s.log().InfoContext(ctx, "article "+action, slog.String("slug", slug), slog.String("by", by.Who()), slog.String("ip", by.IP))
}

// Preview is what the editor's live preview shows: the body rendered and
// sanitised as the feeds have it, the summary the article would get, and
// every field problem. Nothing is stored.
type Preview struct {
	HTML    string       `json:"html"`
	Summary string       `json:"summary"`
	Errors  []FieldError `json:"errors"`
}

// Preview renders in without storing anything. The body renders even when
// other fields are invalid, so a writer sees both.
func (s *Service) Preview(in Input) Preview {
	p := Preview{Errors: s.Validate(in)}
	html, first, err := s.Parser.RenderBody(in.Body)
	if err != nil {
		p.Errors = sortErrs(append(p.Errors, FieldError{Field: "body", Message: err.Error()}))
		return p
	}
	p.HTML = html
	if p.Summary = strings.TrimSpace(in.Summary); p.Summary == "" {
		p.Summary = article.Excerpt(first, 300)
	}
	return p
}
