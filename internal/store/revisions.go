package store

import (
	"fmt"
	"time"
)

// Revision is one saved version of an article written in Herald: who saved
// it, when, from where, and its fields as the newsroom encodes them (the
// store keeps them as they are). Lists leave Fields nil.
type Revision struct {
	ID     int64
	At     time.Time
	UserID int64  // the signed-in user; 0 for an API token or unknown
	Who    string // a user's address, "token NAME", or "" when not known
	IP     string
	Fields []byte
}

// SaveMode says whether SaveArticle creates or replaces.
type SaveMode int

const (
	// SaveReplace writes over the article with the slug.
	SaveReplace SaveMode = iota
	// SaveCreate creates; a slug already in the store is ErrConflict.
	SaveCreate
	// SaveCreateFreeSlug creates under the slug or the first free slug-2,
	// slug-3, … and sets the article's Slug to the one used.
	SaveCreateFreeSlug
)

// ArticleSave is how SaveArticle writes an article and its revision, all in
// one transaction.
type ArticleSave struct {
	Mode SaveMode
	// CheckBase makes a replace conditional: the article's newest
	// revision must be Base (0: it has none), else ErrEditConflict.
	CheckBase bool
	Base      int64
	// Before is recorded first when a replaced article has no revision
	// yet: the version it had before revisions were kept.
	Before *Revision
	// Revision is the new version, recorded when the write changed the
	// article; SaveArticle sets its ID.
	Revision Revision
	// Keep is how many of the newest revisions an article keeps; 0: all.
	Keep int
}

// Check is the rule a backend applies inside the writing transaction, cur
// being the article's newest revision (0: none): nil when the write may
// go ahead, else ErrEditConflict worded alike by every backend.
func (w *ArticleSave) Check(slug string, cur int64) error {
	if w.Mode == SaveReplace && w.CheckBase && cur != w.Base {
		return fmt.Errorf("article %q is at version %d, not %d: %w", slug, cur, w.Base, ErrEditConflict)
	}
	return nil
}

// RecordBefore reports whether Before is to be recorded: on a replace of
// an article without revisions.
func (w *ArticleSave) RecordBefore(cur int64) bool {
	return w.Mode == SaveReplace && cur == 0 && w.Before != nil
}
