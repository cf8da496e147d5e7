package sqlite

import (
	"context"
	"fmt"
	"time"
)

// RunArticleSpans returns, for each run that carries articles still in
// the store, the publication times of its oldest and newest article: the
// period an issue covers, which tells apart issues with one subject.
func (s *Store) RunArticleSpans(ctx context.Context, runIDs []int64) (map[int64][2]time.Time, error) {
	out := make(map[int64][2]time.Time, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(runIDs))
	for i, id := range runIDs {
		args[i] = id
	}
	rows, err := s.r.QueryContext(ctx, `SELECT ra.run_id, MIN(a.published), MAX(a.published)
		FROM digest_run_articles ra JOIN articles a ON a.id = ra.article_id
		WHERE ra.run_id IN (`+placeholders(len(runIDs))+`) GROUP BY ra.run_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: run article spans: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, first, last int64
		if err := rows.Scan(&id, &first, &last); err != nil {
			return nil, fmt.Errorf("sqlite: run article spans: %w", err)
		}
		out[id] = [2]time.Time{fromMicros(first), fromMicros(last)}
	}
	return out, rows.Err()
}
