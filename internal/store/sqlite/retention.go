package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// PruneDeliveries adds the delivery rows of runs that finished before
// cutoff to their run's counts (which may already hold erased rows) and
// deletes them, one run per
// transaction so a large prune never holds the writer for long. It
// returns how many rows it deleted.
func (s *Store) PruneDeliveries(ctx context.Context, cutoff, now time.Time) (int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM digest_runs
		WHERE pruned_at IS NULL AND finished_at IS NOT NULL AND finished_at < ?
		AND status IN ('done', 'cancelled', 'skipped', 'failed')`, micros(cutoff))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite: prune: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	var total int64
	for _, id := range ids {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE digest_runs SET
				sent_count = sent_count + (SELECT COUNT(*) FROM digest_deliveries WHERE run_id = ? AND status IN ('sent', 'bounced')),
				failed_count = failed_count + (SELECT COUNT(*) FROM digest_deliveries WHERE run_id = ? AND status = 'failed'),
				skipped_count = skipped_count + (SELECT COUNT(*) FROM digest_deliveries WHERE run_id = ? AND status = 'skipped'),
				pruned_at = ? WHERE id = ?`, id, id, id, micros(now), id); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM digest_deliveries WHERE run_id = ?`, id)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += n
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("sqlite: prune run %d: %w", id, err)
		}
	}
	return total, nil
}
