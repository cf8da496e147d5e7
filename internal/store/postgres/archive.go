package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RunArticleSpans returns, for each run that carries articles still in
// the store, the publication times of its oldest and newest article: the
// period an issue covers, which tells apart issues with one subject.
func (s *Store) RunArticleSpans(ctx context.Context, runIDs []int64) (map[int64][2]time.Time, error) {
	out := make(map[int64][2]time.Time, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT ra.run_id, MIN(a.published), MAX(a.published)
		FROM digest_run_articles ra JOIN articles a ON a.id = ra.article_id
		WHERE ra.run_id = ANY($1) GROUP BY ra.run_id`, runIDs)
	if err != nil {
		return nil, fmt.Errorf("postgres: run article spans: %w", err)
	}
	var id, first, last int64
	_, err = pgx.ForEachRow(rows, []any{&id, &first, &last}, func() error {
		out[id] = [2]time.Time{fromMicros(first), fromMicros(last)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: run article spans: %w", err)
	}
	return out, nil
}
