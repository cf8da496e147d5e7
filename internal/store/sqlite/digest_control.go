package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/subscribe"
)

// Run control (docs/ARCHITECTURE.md, "Digest runs"): pause, resume and
// cancel. Workers see the status at claim time: ClaimDeliveries claims
// nothing of a run that is not planned or sending, in the same statement
// that claims.

// PauseRun moves a planned or sending run to paused.
func (s *Store) PauseRun(ctx context.Context, runID int64, now time.Time) (*digest.Run, error) {
	return s.transition(ctx, runID, []digest.RunStatus{digest.RunPlanned, digest.RunSending}, digest.RunPaused,
		`UPDATE digest_runs SET status = 'paused' WHERE id = ? AND status IN ('planned', 'sending')`, runID)
}

// ResumeRun moves a paused run back to sending; it carries on where it
// stopped (the settled rows stay settled).
func (s *Store) ResumeRun(ctx context.Context, runID int64, now time.Time) (*digest.Run, error) {
	return s.transition(ctx, runID, []digest.RunStatus{digest.RunPaused}, digest.RunSending,
		`UPDATE digest_runs SET status = 'sending', started_at = COALESCE(started_at, ?) WHERE id = ? AND status = 'paused'`,
		micros(now), runID)
}

// CancelRun moves a planned, sending or paused run to cancelled and, in
// the same transaction, settles every open delivery (pending, or leased
// by a worker) as skipped with the reply "run cancelled". A message a
// worker had in hand still records its real outcome when it finishes
// (RecordOutcomes never downgrades sent, and upgrades skipped to sent or
// failed), so the counts stay true.
func (s *Store) CancelRun(ctx context.Context, runID int64, now time.Time) (*digest.Run, error) {
	return s.transition(ctx, runID, []digest.RunStatus{digest.RunPlanned, digest.RunSending, digest.RunPaused}, digest.RunCancelled,
		`UPDATE digest_runs SET status = 'cancelled', finished_at = ? WHERE id = ? AND status IN ('planned', 'sending', 'paused')`,
		micros(now), runID)
}

// transition runs update (which moves the run when it is in one of from)
// and, for a cancel, settles the open deliveries; a run in another status
// is digest.ErrRunState, a missing one store.ErrNotFound.
func (s *Store) transition(ctx context.Context, runID int64, from []digest.RunStatus, to digest.RunStatus, update string, args ...any) (*digest.Run, error) {
	var run *digest.Run
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, update, args...)
		if err != nil {
			return fmt.Errorf("sqlite: run %d to %s: %w", runID, to, err)
		}
		n, _ := res.RowsAffected()
		if n == 0 {
			var st string
			err := tx.QueryRowContext(ctx, `SELECT status FROM digest_runs WHERE id = ?`, runID).Scan(&st)
			if errors.Is(err, sql.ErrNoRows) {
				return digest.RunNotFound(runID)
			}
			if err != nil {
				return fmt.Errorf("sqlite: run %d: %w", runID, err)
			}
			return digest.RunStateError(runID, st, from, to)
		}
		if to == digest.RunCancelled {
			if _, err := tx.ExecContext(ctx, `UPDATE digest_deliveries SET status = 'skipped', reply = 'run cancelled', lease_until = 0, sent_at = ?
				WHERE run_id = ? AND status IN ('pending', 'sending')`, args[0], runID); err != nil {
				return fmt.Errorf("sqlite: cancel run %d: %w", runID, err)
			}
		}
		run, err = scanRun(tx.QueryRowContext(ctx, `SELECT `+runCols+` FROM digest_runs WHERE id = ?`, runID))
		if err != nil {
			return fmt.Errorf("sqlite: run %d: %w", runID, err)
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
	q := `SELECT d.subscriber_id, COALESCE(s.email, ''), d.status, d.attempts, d.reply, d.message_id, d.sent_at
		FROM digest_deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id WHERE d.run_id = ? AND d.subscriber_id > ?`
	args := []any{runID, after}
	if f.Status != "" {
		q += ` AND d.status = ?`
		args = append(args, string(f.Status))
	}
	if f.Query != "" {
		// The address is the search key's first line.
		q += ` AND instr(substr(s.search, 1, instr(s.search, char(10)) - 1), ?) > 0`
		args = append(args, f.Query)
	}
	q += ` ORDER BY d.subscriber_id LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: deliveries: %w", err)
	}
	defer rows.Close()
	out := []digest.DeliveryRow{}
	for rows.Next() {
		var d digest.DeliveryRow
		var st string
		var sent sql.NullInt64
		if err := rows.Scan(&d.SubscriberID, &d.Email, &st, &d.Attempts, &d.Reply, &d.MessageID, &sent); err != nil {
			return nil, fmt.Errorf("sqlite: deliveries: %w", err)
		}
		d.Status, d.SentAt = digest.DeliveryStatus(st), fromNull(sent)
		out = append(out, d)
	}
	return out, rows.Err()
}
