package article

import (
	"fmt"

	"github.com/herald-news/herald/internal/store"
)

// The messages a store answers with about articles, written here so every
// backend says the same (docs/ARCHITECTURE.md, "Adding a store backend").

// NotFound: no article with the slug.
func NotFound(slug string) error {
	return fmt.Errorf("article %q: %w", slug, store.ErrNotFound)
}

// TagNotFound: no listed article carries the tag.
func TagNotFound(slug string) error {
	return fmt.Errorf("tag %q: %w", slug, store.ErrNotFound)
}

// AlreadyExists: a create found the slug taken.
func AlreadyExists(slug string) error {
	return fmt.Errorf("article %q already exists: %w", slug, store.ErrConflict)
}

// SlugConflict is the rule of who may write under a slug held by old: a
// slug belongs to one source, and among files to one path until that
// file's article is removed. It is nil when a may replace old.
func SlugConflict(old, a *Article) error {
	if old.Source == a.Source && (a.Source != SourceFile || old.SourcePath == a.SourcePath || old.Removed) {
		return nil
	}
	where := old.Source
	if old.SourcePath != "" {
		where = old.SourcePath
	}
	return fmt.Errorf("slug %q is already used by %s: %w", a.Slug, where, store.ErrConflict)
}
