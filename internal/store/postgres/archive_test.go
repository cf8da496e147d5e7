package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/testenv"
)

// TestRunArticleSpans: each run's oldest and newest article still in the
// store. The runs are written directly: planning is the digest part of the
// store (storetest.RunArchive covers both once it is there).
func TestRunArticleSpans(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, testenv.PostgresDSN(t))
	t0 := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	ids := map[string]int64{}
	for i, slug := range []string{"a", "b", "c"} {
		a := &article.Article{Slug: slug, Title: slug, Published: t0.AddDate(0, 0, i), Source: article.SourceAPI, ContentHash: slug}
		if _, err := s.UpsertArticle(ctx, a, t0.AddDate(0, 1, 0)); err != nil {
			t.Fatal(err)
		}
		ids[slug] = a.ID
	}
	var run1, run2 int64
	for _, r := range []struct {
		id   *int64
		slot string
		arts []string
	}{{&run1, "one", []string{"a", "b"}}, {&run2, "two", nil}} {
		if err := s.pool.QueryRow(ctx, `INSERT INTO digest_runs (newsletter, slot, slot_at, kind, status, created_at)
			VALUES ('news', $1, 0, 'manual', 'done', 0) RETURNING id`, r.slot).Scan(r.id); err != nil {
			t.Fatal(err)
		}
		for i, slug := range r.arts {
			if _, err := s.pool.Exec(ctx, `INSERT INTO digest_run_articles (run_id, article_id, position) VALUES ($1, $2, $3)`,
				*r.id, ids[slug], i); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := s.RunArticleSpans(ctx, []int64{run1, run2, 999})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[run1][0].Equal(t0) || !got[run1][1].Equal(t0.AddDate(0, 0, 1)) {
		t.Errorf("spans = %v", got)
	}
	if err := s.DeleteArticle(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	got, err = s.RunArticleSpans(ctx, []int64{run1})
	if err != nil {
		t.Fatal(err)
	}
	if g := got[run1]; !g[0].Equal(t0.AddDate(0, 0, 1)) || !g[1].Equal(t0.AddDate(0, 0, 1)) {
		t.Errorf("after deleting a: %v", g)
	}
	if got, err := s.RunArticleSpans(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no runs: %v %v", got, err)
	}
}
