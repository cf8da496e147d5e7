package newsroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
)

// Keep is how many revisions an article keeps: the newest.
const Keep = 100

// Revision is one saved version of an article: who saved it, when, from
// where, and (from Service.Revision) every field as it was saved.
type Revision struct {
	ID      int64     `json:"id"`
	Version string    `json:"version"` // the Base an edit from this version sends
	At      time.Time `json:"at"`
	UserID  int64     `json:"-"`
	// Who saved it: a user's address, "token NAME", or "" for the version
	// an article had before revisions were kept.
	Who     string `json:"who"`
	IP      string `json:"ip,omitempty"`
	Current bool   `json:"current"` // the article as it stands
	Input   *Input `json:"fields,omitempty"`
}

// Saved is what a write stored: the article and its version, the Base of
// the next edit. Changed is false when the write changed nothing (no new
// revision).
type Saved struct {
	*article.Article
	Version string
	Changed bool
}

// ConflictError is a write whose Base is not the article's current
// version: someone saved in between. Nothing was written.
type ConflictError struct {
	Slug, Base, Current string
	// Who saved the current version and when, if known.
	Who string
	At  time.Time
}

func (e *ConflictError) Error() string {
	by := ""
	if e.Who != "" {
		by = fmt.Sprintf(" by %s at %s", e.Who, e.At.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("article %q was changed%s since version %s (now %s): load it again and redo your change", e.Slug, by, e.Base, e.Current)
}

func version(id int64) string { return strconv.FormatInt(id, 10) }

// parseBase reads a Base; "" means no check.
func parseBase(s string) (id int64, check bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	id, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil || id < 0 {
		return 0, false, &InvalidError{Errors: []FieldError{{Field: "base", Message: fmt.Sprintf("base %q is not a version Herald gave out", s)}}}
	}
	return id, true, nil
}

// Version is the article's current version: what an edit of it sends as
// Base. "0" for an article without revisions yet.
func (s *Service) Version(ctx context.Context, slug string) (string, error) {
	v, err := s.Store.ArticleVersion(ctx, slug)
	return version(v), err
}

// conflict explains an ErrEditConflict: who saved the current version.
func (s *Service) conflict(ctx context.Context, slug, base string) error {
	e := &ConflictError{Slug: slug, Base: base}
	cur, err := s.Store.ArticleVersion(ctx, slug)
	if err != nil {
		return err
	}
	e.Current = version(cur)
	if cur > 0 {
		if r, err := s.Store.ArticleRevision(ctx, slug, cur); err == nil {
			e.Who, e.At = r.Who, r.At
		}
	}
	return e
}

// fields is the JSON a revision keeps of in: every field, Base left out.
func fields(in Input) ([]byte, error) {
	in.Base = ""
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("newsroom: encode revision: %w", err)
	}
	return b, nil
}

// Revisions lists the article's revisions, newest (the current version)
// first, without their fields.
func (s *Service) Revisions(ctx context.Context, slug string) ([]Revision, error) {
	rs, err := s.Store.ArticleRevisions(ctx, slug)
	if err != nil {
		return nil, err
	}
	out := make([]Revision, len(rs))
	for i, r := range rs {
		out[i] = revisionOf(r)
		out[i].Current = i == 0
	}
	return out, nil
}

func revisionOf(r store.Revision) Revision {
	return Revision{ID: r.ID, Version: version(r.ID), At: r.At, UserID: r.UserID, Who: r.Who, IP: r.IP}
}

// Revision is one revision of the article with every field as saved.
func (s *Service) Revision(ctx context.Context, slug string, id int64) (Revision, error) {
	r, err := s.Store.ArticleRevision(ctx, slug, id)
	if err != nil {
		return Revision{}, err
	}
	var in Input
	if err := json.Unmarshal(r.Fields, &in); err != nil {
		return Revision{}, fmt.Errorf("newsroom: revision %d of %q: %w", id, slug, err)
	}
	out := revisionOf(r)
	out.Input = &in
	cur, err := s.Store.ArticleVersion(ctx, slug)
	if err != nil {
		return Revision{}, err
	}
	out.Current = cur == id
	return out, nil
}

// Restore makes the revision's fields the article's again: a new
// revision, so the restore can itself be undone. base is checked as for
// any write ("" no check).
func (s *Service) Restore(ctx context.Context, by Actor, slug string, id int64, base string) (*Saved, error) {
	old, err := s.editable(ctx, slug)
	if err != nil {
		return nil, err
	}
	r, err := s.Revision(ctx, slug, id)
	if err != nil {
		return nil, err
	}
	in := *r.Input
	in.Slug, in.Base = old.Slug, base
	return s.write(ctx, by, "restore", old, store.SaveReplace, in)
}

// write validates in and stores it with its revision (see save); old is
// the article it replaces (nil on create).
func (s *Service) write(ctx context.Context, by Actor, action string, old *article.Article, mode store.SaveMode, in Input) (*Saved, error) {
	base, check, err := parseBase(in.Base)
	if err != nil {
		return nil, err
	}
	ar, err := s.valid(in)
	if err != nil {
		return nil, err
	}
	now := s.now()
	f, err := fields(in)
	if err != nil {
		return nil, err
	}
	w := &store.ArticleSave{Mode: mode, CheckBase: check, Base: base, Keep: Keep,
		Revision: store.Revision{At: now, UserID: by.UserID, Who: by.Who(), IP: by.IP, Fields: f}}
	if old != nil {
		// An article saved before revisions were kept gets its old version
		// recorded first, so the first edit can be undone too.
		w.Before = &store.Revision{At: old.Updated}
		if w.Before.Fields, err = fields(s.InputOf(old)); err != nil {
			return nil, err
		}
	}
	changed, err := s.Store.SaveArticle(ctx, ar, w, now)
	switch {
	case errors.Is(err, store.ErrEditConflict):
		return nil, s.conflict(ctx, ar.Slug, in.Base)
	case errors.Is(err, store.ErrConflict) && mode == store.SaveCreate:
		return nil, &ExistsError{Slug: ar.Slug}
	case err != nil:
		return nil, err
	}
	out := &Saved{Article: ar, Changed: changed, Version: version(w.Revision.ID)}
	if !changed {
		if out.Version, err = s.Version(ctx, ar.Slug); err != nil {
			return nil, err
		}
		return out, nil
	}
	s.logWrite(ctx, by, action, ar.Slug)
	s.keepImage(ctx, ar)
	return out, nil
}
