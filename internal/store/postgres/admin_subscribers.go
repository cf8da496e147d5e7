package postgres

import (
	"context"
	"fmt"
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
