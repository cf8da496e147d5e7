package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/jackc/pgx/v5"
)

// Run control (docs/ARCHITECTURE.md, "Digest runs"): pause, resume and
// cancel. Workers see the status at claim time: ClaimDeliveries share-locks
// the run row in the statement that claims, so a transition waits for
// claims in flight and no claim follows it.

// PauseRun moves a planned or sending run to paused.
func (s *Store) PauseRun(ctx context.Context, runID int64, now time.Time) (*digest.Run, error) {
	return s.transition(ctx, runID, []digest.RunStatus{digest.RunPlanned, digest.RunSending}, digest.RunPaused, now,
		`UPDATE digest_runs SET status = 'paused' WHERE id = $1 AND status IN ('planned', 'sending')`, runID)
}

// ResumeRun moves a paused run back to sending; it carries on where it
// stopped (the settled rows stay settled).
func (s *Store) ResumeRun(ctx context.Context, runID int64, now time.Time) (*digest.Run, error) {
	return s.transition(ctx, runID, []digest.RunStatus{digest.RunPaused}, digest.RunSending, now,
		`UPDATE digest_runs SET status = 'sending', started_at = COALESCE(started_at, $1) WHERE id = $2 AND status = 'paused'`,
		micros(now), runID)
}

// CancelRun moves a planned, sending or paused run to cancelled and, in
// the same transaction, settles every open delivery (pending, or leased
// by a worker) as skipped with the reply "run cancelled". A message a
// worker had in hand still records its real outcome when it finishes
// (RecordOutcomes never downgrades sent, and upgrades skipped to sent or
// failed), so the counts stay true.
func (s *Store) CancelRun(ctx context.Context, runID int64, now time.Time) (*digest.Run, error) {
	return s.transition(ctx, runID, []digest.RunStatus{digest.RunPlanned, digest.RunSending, digest.RunPaused}, digest.RunCancelled, now,
		`UPDATE digest_runs SET status = 'cancelled', finished_at = $1 WHERE id = $2 AND status IN ('planned', 'sending', 'paused')`,
		micros(now), runID)
}

// transition runs update (which moves the run when it is in one of from)
// and, for a cancel, settles the open deliveries; a run in another status
// is digest.ErrRunState, a missing one store.ErrNotFound.
func (s *Store) transition(ctx context.Context, runID int64, from []digest.RunStatus, to digest.RunStatus, now time.Time, update string, args ...any) (*digest.Run, error) {
	var run *digest.Run
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, update, args...)
		if err != nil {
			return fmt.Errorf("postgres: run %d to %s: %w", runID, to, err)
		}
		if tag.RowsAffected() == 0 {
			var st string
			err := tx.QueryRow(ctx, `SELECT status FROM digest_runs WHERE id = $1`, runID).Scan(&st)
			if errors.Is(err, pgx.ErrNoRows) {
				return digest.RunNotFound(runID)
			}
			if err != nil {
				return fmt.Errorf("postgres: run %d: %w", runID, err)
			}
			return digest.RunStateError(runID, st, from, to)
		}
		if to == digest.RunCancelled {
			if _, err := tx.Exec(ctx, `UPDATE digest_deliveries SET status = 'skipped', reply = 'run cancelled', lease_until = 0, sent_at = $1
				WHERE run_id = $2 AND status IN ('pending', 'sending')`, micros(now), runID); err != nil {
				return fmt.Errorf("postgres: cancel run %d: %w", runID, err)
			}
		}
		run, err = scanRun(tx.QueryRow(ctx, `SELECT `+runCols+` FROM digest_runs WHERE id = $1`, runID))
		if err != nil {
			return fmt.Errorf("postgres: run %d: %w", runID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// ListDeliveries returns up to limit deliveries of the run with subscriber
// ids above after that f matches, by subscriber id.
func (s *Store) ListDeliveries(ctx context.Context, runID int64, f digest.DeliveryFilter, after int64, limit int) ([]digest.DeliveryRow, error) {
	if f.Query != "" {
		if err := s.refold(ctx, subscribe.Filter{Query: f.Query}); err != nil {
			return nil, err
		}
	}
	q := deliveryRowQuery + ` WHERE d.run_id = $1 AND d.subscriber_id > $2`
	args := []any{runID, after}
	if f.Status != "" {
		args = append(args, string(f.Status))
		q += ` AND d.status = $` + strconv.Itoa(len(args))
	}
	if f.Query != "" {
		// The address is the search key's first line.
		args = append(args, f.Query)
		q += ` AND strpos(split_part(s.search, E'\n', 1), $` + strconv.Itoa(len(args)) + `) > 0`
	}
	args = append(args, limit)
	q += ` ORDER BY d.subscriber_id LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: deliveries: %w", err)
	}
	defer rows.Close()
	out := []digest.DeliveryRow{}
	for rows.Next() {
		d, err := scanDeliveryRow(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: deliveries: %w", err)
	}
	return out, nil
}
