package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// DeliveryStatusCounts counts every delivery by status (metrics): the
// rows in the store plus the counts kept of rows deleted since (pruned by
// digest.keep_deliveries, or erased), so the settled ones only ever grow. Pending
// and sending are read from their partial indexes.
func (s *Store) DeliveryStatusCounts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{"pending": 0, "sending": 0, "sent": 0, "failed": 0, "skipped": 0, "bounced": 0}
	rows, err := s.r.QueryContext(ctx, `SELECT status, COUNT(*) FROM digest_deliveries GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: delivery counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("sqlite: delivery counts: %w", err)
		}
		out[st] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: delivery counts: %w", err)
	}
	var sent, failed, skipped int
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(sent_count), 0), COALESCE(SUM(failed_count), 0), COALESCE(SUM(skipped_count), 0)
		FROM digest_runs`).Scan(&sent, &failed, &skipped); err != nil {
		return nil, fmt.Errorf("sqlite: delivery counts: %w", err)
	}
	out["sent"] += sent
	out["failed"] += failed
	out["skipped"] += skipped
	return out, nil
}

// QueueDepth is how many deliveries are waiting or in flight (pending +
// sending), over every run.
func (s *Store) QueueDepth(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM digest_deliveries WHERE status = 'pending')
		+ (SELECT COUNT(*) FROM digest_deliveries WHERE status = 'sending')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: queue depth: %w", err)
	}
	return n, nil
}

// FailedRuns counts, per newsletter, the runs that failed (composing or
// rendering the digest).
func (s *Store) FailedRuns(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT newsletter, COUNT(*) FROM digest_runs WHERE status = 'failed' GROUP BY newsletter`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: failed runs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var nl string
		var n int
		if err := rows.Scan(&nl, &n); err != nil {
			return nil, fmt.Errorf("sqlite: failed runs: %w", err)
		}
		out[nl] = n
	}
	return out, rows.Err()
}

// LastDigestSuccess is, per newsletter, when its latest scheduled or
// manual run finished done, as Unix seconds.
func (s *Store) LastDigestSuccess(ctx context.Context) (map[string]float64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT newsletter, MAX(finished_at) FROM digest_runs
		WHERE status = 'done' AND kind IN ('scheduled', 'manual') AND finished_at IS NOT NULL GROUP BY newsletter`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: last digest: %w", err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var nl string
		var at sql.NullInt64
		if err := rows.Scan(&nl, &at); err != nil {
			return nil, fmt.Errorf("sqlite: last digest: %w", err)
		}
		if at.Valid {
			out[nl] = float64(fromMicros(at.Int64).UnixMilli()) / 1000
		}
	}
	return out, rows.Err()
}
