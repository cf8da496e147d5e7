package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
)

// stateWhere is the SQL condition (over articles aliased a) for a state.
func stateWhere(state string) (string, bool) {
	switch state {
	case "":
		return "1 = 1", true
	case article.StatePublished:
		return "a.draft = 0 AND a.removed = 0 AND a.published <= ?", true
	case article.StateScheduled:
		return "a.draft = 0 AND a.removed = 0 AND a.published > ?", true
	case article.StateDraft:
		return "a.draft = 1 AND a.removed = 0", true
	case article.StateRemoved:
		return "a.removed = 1", true
	}
	return "", false
}

// ListAllArticles lists articles in any state matching f, newest first by
// (published, id), with tags: what the admin API pages through.
func (s *Store) ListAllArticles(ctx context.Context, f article.ListFilter) ([]article.Article, error) {
	cond, ok := stateWhere(f.State)
	if !ok {
		return nil, fmt.Errorf("sqlite: unknown article state %q: %w", f.State, store.ErrNotFound)
	}
	where := []string{cond}
	var args []any
	if strings.Contains(cond, "?") {
		args = append(args, micros(f.Now))
	}
	if f.Tag != "" {
		where = append(where, `a.id IN (SELECT at.article_id FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE t.slug = ?)`)
		args = append(args, f.Tag)
	}
	if f.After != nil {
		p := micros(f.After.Published)
		where = append(where, "(a.published < ? OR (a.published = ? AND a.id < ?))")
		args = append(args, p, p, f.After.ID)
	}
	query := `SELECT ` + prefixCols("a") + ` FROM articles a WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY a.published DESC, a.id DESC`
	if f.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryArticles(ctx, s.r, query, args...)
}

// ArticleStateCounts counts articles by state at now; every state is
// present, zero or not (the metrics' gauges).
func (s *Store) ArticleStateCounts(ctx context.Context, now time.Time) (map[string]int, error) {
	out := map[string]int{}
	for _, st := range article.States() {
		out[st] = 0
	}
	// The store groups by the flags; article.StateOf names the state.
	rows, err := s.r.QueryContext(ctx, `SELECT draft, removed, published > ?, COUNT(*) FROM articles GROUP BY 1, 2, 3`, micros(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var draft, removed, future bool
		var n int
		if err := rows.Scan(&draft, &removed, &future, &n); err != nil {
			return nil, fmt.Errorf("sqlite: counts: %w", err)
		}
		out[article.StateOf(draft, removed, future)] += n
	}
	return out, rows.Err()
}

// SubscriberStatusCounts counts subscribers by status; every status is
// present.
func (s *Store) SubscriberStatusCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{"pending": 0, "active": 0, "unsubscribed": 0, "bounced": 0}
	err := s.countBy(ctx, out, `SELECT status, COUNT(*) FROM subscribers GROUP BY status`)
	return out, err
}

// countBy adds the (key, count) rows of query to out.
func (s *Store) countBy(ctx context.Context, out map[string]int, query string, args ...any) error {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return fmt.Errorf("sqlite: counts: %w", err)
		}
		out[k] = n
	}
	return rows.Err()
}
