package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/subscribe"
)

// ApplyFeedback applies one bounce, complaint or mailed unsubscribe once
// (digest.FeedbackStore; docs/ARCHITECTURE.md, "Bounces and complaints").
func (s *Store) ApplyFeedback(ctx context.Context, f digest.Feedback, hash func(email string) []byte) (res digest.FeedbackResult, err error) {
	now := micros(f.At)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT INTO bounce_events (id, kind, status, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, f.Source+":"+f.ID, string(f.Kind), f.Status, now)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil // applied before
		}
		res.Applied = true
		runID, subID := f.RunID, f.SubscriberID
		if mid := strings.Trim(strings.TrimSpace(f.MessageID), "<>"); (runID == 0 || subID == 0) && mid != "" {
			err := tx.QueryRowContext(ctx, `SELECT run_id, subscriber_id FROM digest_deliveries WHERE message_id = ? LIMIT 1`, mid).Scan(&runID, &subID)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var email, status string
		if subID != 0 {
			err = tx.QueryRowContext(ctx, `SELECT email, status FROM subscribers WHERE id = ?`, subID).Scan(&email, &status)
		} else if f.Email != "" {
			err = tx.QueryRowContext(ctx, `SELECT id, email, status FROM subscribers WHERE email = ?`, f.Email).Scan(&subID, &email, &status)
		}
		if errors.Is(err, sql.ErrNoRows) {
			err = nil // erased, or never a subscriber: the address may still be suppressed
		}
		if err != nil {
			return err
		}
		if email == "" {
			email = f.Email
		}
		res.RunID, res.SubscriberID = runID, subID
		if _, err := tx.ExecContext(ctx, `UPDATE bounce_events SET run_id = NULLIF(?, 0), subscriber_id = NULLIF(?, 0) WHERE id = ?`,
			runID, subID, f.Source+":"+f.ID); err != nil {
			return err
		}
		var reason digest.SuppressReason
		switch f.Kind {
		case digest.FeedbackHard:
			if runID != 0 && subID != 0 {
				if _, err := tx.ExecContext(ctx, `UPDATE digest_deliveries SET status = 'bounced', reply = ?
					WHERE run_id = ? AND subscriber_id = ? AND status = 'sent'`, "bounced "+f.Status, runID, subID); err != nil {
					return err
				}
			}
			if status != "" {
				var hard int
				if err := tx.QueryRowContext(ctx, `UPDATE subscribers SET hard_failures = hard_failures + 1, updated_at = ?
					WHERE id = ? RETURNING hard_failures`, now, subID).Scan(&hard); err != nil {
					return err
				}
				if status == string(subscribe.StatusActive) && f.Bounce().Bounces(hard) {
					if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET status = 'bounced' WHERE id = ?`, subID); err != nil {
						return err
					}
					status = string(subscribe.StatusBounced)
				}
			}
			if status == "" || status == string(subscribe.StatusBounced) {
				reason = digest.SuppressHard
			}
		case digest.FeedbackSoft:
			if status != "" {
				if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET soft_failures = soft_failures + 1, updated_at = ? WHERE id = ?`, now, subID); err != nil {
					return err
				}
			}
		case digest.FeedbackComplaint, digest.FeedbackUnsubscribe:
			if status != "" {
				if err := unsubscribeTx(ctx, tx, subID, f.Newsletter, f.Kind == digest.FeedbackComplaint, f.At); err != nil {
					return err
				}
			}
			if f.Kind == digest.FeedbackComplaint {
				reason = digest.SuppressComplaint
			}
		}
		if reason != "" && email != "" {
			r, err := tx.ExecContext(ctx, `INSERT INTO suppressions (hash, reason, subscriber_id, created_at) VALUES (?, ?, NULLIF(?, 0), ?)
				ON CONFLICT (hash) DO NOTHING`, hash(email), string(reason), subID, now)
			if err != nil {
				return err
			}
			n, _ := r.RowsAffected()
			res.Suppressed = n > 0
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("sqlite: apply %s %s: %w", f.Kind, f.ID, err)
	}
	return res, nil
}

// unsubscribeTx takes subscriber id off newsletter ("" or all: every one),
// as Unsubscribe does.
func unsubscribeTx(ctx context.Context, tx *sql.Tx, id int64, newsletter string, all bool, now time.Time) error {
	if all {
		newsletter = ""
	}
	if err := leave(ctx, tx, id, newsletter, now); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE subscribers SET
		status = CASE WHEN EXISTS (SELECT 1 FROM subscriptions WHERE subscriber_id = ?1) OR status = 'bounced' THEN status ELSE 'unsubscribed' END,
		unsubscribed_at = CASE WHEN EXISTS (SELECT 1 FROM subscriptions WHERE subscriber_id = ?1) THEN unsubscribed_at ELSE COALESCE(unsubscribed_at, ?2) END,
		pending_choice = CASE WHEN EXISTS (SELECT 1 FROM subscriptions WHERE subscriber_id = ?1) THEN pending_choice END,
		updated_at = ?2 WHERE id = ?1`, id, micros(now))
	return err
}

// KeepMessage stores an inbound message that could not be classified;
// keeping the same id twice keeps the first.
func (s *Store) KeepMessage(ctx context.Context, m digest.KeptMessage) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bounce_kept (id, reason, raw, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			m.ID, m.Reason, m.Raw, micros(m.CreatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: keep message %s: %w", m.ID, err)
	}
	return nil
}

// KeptMessages lists kept messages, newest first.
func (s *Store) KeptMessages(ctx context.Context, limit int) ([]digest.KeptMessage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, reason, raw, created_at FROM bounce_kept ORDER BY created_at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: kept messages: %w", err)
	}
	defer rows.Close()
	var out []digest.KeptMessage
	for rows.Next() {
		var m digest.KeptMessage
		var at int64
		if err := rows.Scan(&m.ID, &m.Reason, &m.Raw, &at); err != nil {
			return nil, fmt.Errorf("sqlite: kept messages: %w", err)
		}
		m.CreatedAt = fromMicros(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: kept messages: %w", err)
	}
	return out, nil
}

// Suppressions lists the suppression list, newest first, with the address
// of a subscriber that still exists.
func (s *Store) Suppressions(ctx context.Context) ([]digest.Suppression, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT x.hash, x.reason, COALESCE(x.subscriber_id, 0), COALESCE(s.email, ''), x.created_at
		FROM suppressions x LEFT JOIN subscribers s ON s.id = x.subscriber_id ORDER BY x.created_at DESC, x.hash`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: suppressions: %w", err)
	}
	defer rows.Close()
	var out []digest.Suppression
	for rows.Next() {
		var x digest.Suppression
		var at int64
		var reason string
		if err := rows.Scan(&x.Hash, &reason, &x.SubscriberID, &x.Email, &at); err != nil {
			return nil, fmt.Errorf("sqlite: suppressions: %w", err)
		}
		x.Reason, x.CreatedAt = digest.SuppressReason(reason), fromMicros(at)
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: suppressions: %w", err)
	}
	return out, nil
}

// Suppress puts hash on the suppression list (kept as it is if there).
func (s *Store) Suppress(ctx context.Context, hash []byte, reason digest.SuppressReason, subscriberID int64, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO suppressions (hash, reason, subscriber_id, created_at) VALUES (?, ?, NULLIF(?, 0), ?)
			ON CONFLICT (hash) DO NOTHING`, hash, string(reason), subscriberID, micros(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: suppress: %w", err)
	}
	return nil
}

// Unsuppress lifts every suppression matching one of hashes.
func (s *Store) Unsuppress(ctx context.Context, hashes [][]byte) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, h := range hashes {
			r, err := tx.ExecContext(ctx, `DELETE FROM suppressions WHERE hash = ?`, h)
			if err != nil {
				return err
			}
			d, _ := r.RowsAffected()
			n += d
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: unsuppress: %w", err)
	}
	return n > 0, nil
}

// Suppressed reports whether any of hashes is on the suppression list.
func (s *Store) Suppressed(ctx context.Context, hashes [][]byte) (bool, error) {
	for _, h := range hashes {
		var one int
		err := s.r.QueryRowContext(ctx, `SELECT 1 FROM suppressions WHERE hash = ?`, h).Scan(&one)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("sqlite: suppressed: %w", err)
		}
	}
	return false, nil
}

// RunFeedback counts a run's sent messages, hard bounces (deliveries now
// bounced), and the distinct subscribers with a soft bounce or complaint.
func (s *Store) RunFeedback(ctx context.Context, runID int64) (digest.RunFeedback, error) {
	var r digest.RunFeedback
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM digest_deliveries WHERE run_id = ?1 AND status IN ('sent', 'bounced')),
		(SELECT COUNT(*) FROM digest_deliveries WHERE run_id = ?1 AND status = 'bounced'),
		(SELECT COUNT(DISTINCT subscriber_id) FROM bounce_events WHERE run_id = ?1 AND kind = 'soft'),
		(SELECT COUNT(DISTINCT subscriber_id) FROM bounce_events WHERE run_id = ?1 AND kind = 'complaint')`, runID).
		Scan(&r.Sent, &r.Hard, &r.Soft, &r.Complaints)
	if err != nil {
		return r, fmt.Errorf("sqlite: run feedback %d: %w", runID, err)
	}
	return r, nil
}
