package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PruneDeliveries adds the delivery rows of runs that finished before
// cutoff to their run's counts (which may already hold erased rows) and
// deletes them, one run per transaction so a large prune never holds
// locks for long. It returns how many rows it deleted. Two instances
// pruning together fold each run once: the run row is locked and
// re-checked unpruned before its rows are counted.
func (s *Store) PruneDeliveries(ctx context.Context, cutoff, now time.Time) (int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM digest_runs
		WHERE pruned_at IS NULL AND finished_at IS NOT NULL AND finished_at < $1
		AND status IN ('done', 'cancelled', 'skipped', 'failed')`, micros(cutoff))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("postgres: prune: %w", err)
	}
	var total int64
	for _, id := range ids {
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			var locked bool
			err := tx.QueryRow(ctx, `SELECT true FROM digest_runs WHERE id = $1 AND pruned_at IS NULL FOR UPDATE`, id).Scan(&locked)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // another instance pruned it
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE digest_runs SET
				sent_count = sent_count + (SELECT COUNT(*) FROM digest_deliveries WHERE run_id = $1 AND status IN ('sent', 'bounced')),
				failed_count = failed_count + (SELECT COUNT(*) FROM digest_deliveries WHERE run_id = $1 AND status = 'failed'),
				skipped_count = skipped_count + (SELECT COUNT(*) FROM digest_deliveries WHERE run_id = $1 AND status = 'skipped'),
				pruned_at = $2 WHERE id = $1`, id, micros(now)); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `DELETE FROM digest_deliveries WHERE run_id = $1`, id)
			if err != nil {
				return err
			}
			total += tag.RowsAffected()
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("postgres: prune run %d: %w", id, err)
		}
	}
	return total, nil
}
