package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/testenv"
)

// TestArticleWritesAcrossInstances: article writes through several store
// handles on one database (several instances) behave as SQLite's single
// writer does: a free slug goes to one creator, a created slug to one, and
// concurrent upserts of one new article insert it once.
func TestArticleWritesAcrossInstances(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDSN(t)
	const n = 4
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = openTest(t, dsn)
	}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	mk := func(slug string) *article.Article {
		return &article.Article{Slug: slug, Title: slug, Published: now.Add(-time.Hour), Source: article.SourceAPI, ContentHash: slug}
	}
	// all runs fn on every handle at once and returns the errors.
	all := func(fn func(s *Store, i int) error) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() { errs[i] = fn(s, i) })
		}
		wg.Wait()
		return errs
	}

	t.Run("FreeSlug", func(t *testing.T) {
		got := make([]string, n)
		errs := all(func(s *Store, i int) error {
			a := mk("report")
			err := s.CreateArticleFreeSlug(ctx, a, now)
			got[i] = a.Slug
			return err
		})
		seen := map[string]bool{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("instance %d: %v", i, err)
			}
			if seen[got[i]] {
				t.Errorf("slug %s given twice: %v", got[i], got)
			}
			seen[got[i]] = true
		}
		for _, want := range []string{"report", "report-2", "report-3", "report-4"} {
			if !seen[want] {
				t.Errorf("slugs %v, want report … report-4", got)
			}
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		errs := all(func(s *Store, i int) error { return s.CreateArticle(ctx, mk("once"), now) })
		var won int
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("instance %d: %v, want ErrConflict", i, err)
			}
		}
		if won != 1 {
			t.Errorf("%d creators of one slug succeeded", won)
		}
	})

	t.Run("UpsertOnce", func(t *testing.T) {
		changed := make([]bool, n)
		errs := all(func(s *Store, i int) (err error) {
			changed[i], err = s.UpsertArticle(ctx, mk("synced"), now)
			return err
		})
		var writes int
		for i, err := range errs {
			if err != nil {
				t.Fatalf("instance %d: %v", i, err)
			}
			if changed[i] {
				writes++
			}
		}
		if writes != 1 {
			t.Errorf("%d instances wrote the same new article", writes)
		}
	})
}
