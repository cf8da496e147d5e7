package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
)

// ArchiveStore is the part of a store the archive suite exercises: the
// period each past issue covers, which the archive page shows.
type ArchiveStore interface {
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
	DeleteArticle(ctx context.Context, slug string) error
	PlanRun(ctx context.Context, req digest.PlanRequest, compose digest.ComposeFunc) (*digest.Run, error)
	RunArticleSpans(ctx context.Context, runIDs []int64) (map[int64][2]time.Time, error)
}

// RunArchive runs the archive conformance suite.
func RunArchive(t *testing.T, open func(t *testing.T) ArchiveStore) {
	ctx := context.Background()
	now := t0.AddDate(0, 1, 0)
	compose := func(*digest.Run, []article.Article) ([]digest.Variant, error) {
		return []digest.Variant{{Key: digest.VariantAll, Subject: "News", HTML: "<p>x</p>", Text: "x"}}, nil
	}
	plan := func(t *testing.T, s ArchiveStore, slot string, at time.Time, max int) *digest.Run {
		t.Helper()
		run, err := s.PlanRun(ctx, digest.PlanRequest{
			Selection: digest.Selection{Newsletter: "news", SlotAt: at, FirstWindow: 365 * 24 * time.Hour, MaxArticles: max},
			Slot:      slot, Kind: digest.KindManual, Now: at,
		}, compose)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}

	t.Run("RunArticleSpans", func(t *testing.T) {
		s := open(t)
		if got := must(s.RunArticleSpans(ctx, nil)).get(t); len(got) != 0 {
			t.Errorf("no runs: %v", got)
		}
		for i, slug := range []string{"a", "b", "c", "d"} {
			upsert(t, s, mk(slug, i), now)
		}
		first := plan(t, s, "first", t0.AddDate(0, 0, 1).Add(time.Hour), 0) // a, b
		second := plan(t, s, "second", now, 0)                              // c, d
		empty := plan(t, s, "empty", now.Add(time.Hour), 0)                 // skipped: nothing new
		got := must(s.RunArticleSpans(ctx, []int64{first.ID, second.ID, empty.ID, 999})).get(t)
		want := map[int64][2]time.Time{
			first.ID:  {t0, t0.AddDate(0, 0, 1)},
			second.ID: {t0.AddDate(0, 0, 2), t0.AddDate(0, 0, 3)},
		}
		if len(got) != len(want) {
			t.Errorf("spans = %v, want %v", got, want)
		}
		for id, w := range want {
			if g := got[id]; !g[0].Equal(w[0]) || !g[1].Equal(w[1]) {
				t.Errorf("run %d: span %v, want %v", id, g, w)
			}
		}
		// Only articles still in the store count.
		ok(t, s.DeleteArticle(ctx, "a"))
		got = must(s.RunArticleSpans(ctx, []int64{first.ID})).get(t)
		if g := got[first.ID]; !g[0].Equal(t0.AddDate(0, 0, 1)) || !g[1].Equal(t0.AddDate(0, 0, 1)) {
			t.Errorf("after deleting a: span %v", g)
		}
	})
}
