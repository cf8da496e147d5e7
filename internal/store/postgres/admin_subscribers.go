package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/herald-news/herald/internal/subscribe"
)

// SubscriberStatusCounts counts subscribers by status; every status is
// present.
func (s *Store) SubscriberStatusCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{"pending": 0, "active": 0, "unsubscribed": 0, "bounced": 0}
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM subscribers GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("postgres: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("postgres: counts: %w", err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: counts: %w", err)
	}
	return out, nil
}

// SearchSubscribers pages through subscribers matching f whose email or
// name contains query (case-insensitive; "" matches all), by id after
// afterID, at most limit (0: all): what the admin API lists.
func (s *Store) SearchSubscribers(ctx context.Context, f subscribe.Filter, query string, afterID int64, limit int) ([]*subscribe.Subscriber, error) {
	args := []any{afterID}
	conds := []string{"id > $1"}
	fc, args := filterConds(f, args)
	conds = append(conds, fc...)
	if query != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(query)) + "%"
		args = append(args, like)
		n := len(args)
		conds = append(conds, fmt.Sprintf(`(lower(email) LIKE $%d ESCAPE '\' OR lower(name) LIKE $%d ESCAPE '\')`, n, n))
	}
	q := `SELECT ` + subscriberCols + ` FROM subscribers WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY id`
	if limit > 0 {
		args = append(args, limit)
		q += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	return s.querySubscribers(ctx, q, args...)
}
