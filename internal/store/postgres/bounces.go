package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/jackc/pgx/v5"
)

// ApplyFeedback applies one bounce, complaint or mailed unsubscribe once
// (digest.FeedbackStore; docs/ARCHITECTURE.md, "Bounces and complaints").
func (s *Store) ApplyFeedback(ctx context.Context, f digest.Feedback, hash func(email string) []byte) (res digest.FeedbackResult, err error) {
	now := micros(f.At)
	key := f.Source + ":" + f.ID
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO bounce_events (id, kind, status, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO NOTHING`, key, string(f.Kind), f.Status, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil // applied before
		}
		res.Applied = true
		runID, subID := f.RunID, f.SubscriberID
		if mid := strings.Trim(strings.TrimSpace(f.MessageID), "<>"); (runID == 0 || subID == 0) && mid != "" {
			err := tx.QueryRow(ctx, `SELECT run_id, subscriber_id FROM digest_deliveries WHERE message_id = $1 LIMIT 1`, mid).Scan(&runID, &subID)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		var email, status string
		if subID != 0 {
			err = tx.QueryRow(ctx, `SELECT email, status FROM subscribers WHERE id = $1`, subID).Scan(&email, &status)
		} else if f.Email != "" {
			err = tx.QueryRow(ctx, `SELECT id, email, status FROM subscribers WHERE lower(email) = lower($1)`, f.Email).Scan(&subID, &email, &status)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil // erased, or never a subscriber: the address may still be suppressed
		}
		if err != nil {
			return err
		}
		if email == "" {
			email = f.Email
		}
		res.RunID, res.SubscriberID = runID, subID
		if _, err := tx.Exec(ctx, `UPDATE bounce_events SET run_id = NULLIF($1, 0::bigint), subscriber_id = NULLIF($2, 0::bigint) WHERE id = $3`,
			runID, subID, key); err != nil {
			return err
		}
		var reason digest.SuppressReason
		switch f.Kind {
		case digest.FeedbackHard:
			if runID != 0 && subID != 0 {
				if _, err := tx.Exec(ctx, `UPDATE digest_deliveries SET status = 'bounced', reply = $1
					WHERE run_id = $2 AND subscriber_id = $3 AND status = 'sent'`, "bounced "+f.Status, runID, subID); err != nil {
					return err
				}
			}
			if status != "" {
				var hard int
				if err := tx.QueryRow(ctx, `UPDATE subscribers SET hard_failures = hard_failures + 1, updated_at = $1
					WHERE id = $2 RETURNING hard_failures`, now, subID).Scan(&hard); err != nil {
					return err
				}
				if status == string(subscribe.StatusActive) && f.Bounce().Bounces(hard) {
					if _, err := tx.Exec(ctx, `UPDATE subscribers SET status = 'bounced' WHERE id = $1`, subID); err != nil {
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
				if _, err := tx.Exec(ctx, `UPDATE subscribers SET soft_failures = soft_failures + 1, updated_at = $1 WHERE id = $2`, now, subID); err != nil {
					return err
				}
			}
		case digest.FeedbackComplaint, digest.FeedbackUnsubscribe:
			if status != "" {
				nl := f.Newsletter
				if f.Kind == digest.FeedbackComplaint {
					nl = ""
				}
				if err := leave(ctx, tx, subID, nl, f.At); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE subscribers SET
					status = CASE WHEN status = 'bounced' THEN status ELSE 'unsubscribed' END,
					unsubscribed_at = COALESCE(unsubscribed_at, $1), pending_choice = NULL, updated_at = $1
					WHERE id = $2 AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE subscriber_id = $2)`, now, subID); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE subscribers SET updated_at = $1 WHERE id = $2`, now, subID); err != nil {
					return err
				}
			}
			if f.Kind == digest.FeedbackComplaint {
				reason = digest.SuppressComplaint
			}
		}
		if reason != "" && email != "" {
			tag, err := tx.Exec(ctx, `INSERT INTO suppressions (hash, reason, subscriber_id, created_at) VALUES ($1, $2, NULLIF($3, 0::bigint), $4)
				ON CONFLICT (hash) DO NOTHING`, hash(email), string(reason), subID, now)
			if err != nil {
				return err
			}
			res.Suppressed = tag.RowsAffected() > 0
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("postgres: apply %s %s: %w", f.Kind, f.ID, err)
	}
	return res, nil
}

// KeepMessage stores an inbound message that could not be classified;
// keeping the same id twice keeps the first.
func (s *Store) KeepMessage(ctx context.Context, m digest.KeptMessage) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO bounce_kept (id, reason, raw, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
		m.ID, m.Reason, m.Raw, micros(m.CreatedAt)); err != nil {
		return fmt.Errorf("postgres: keep message %s: %w", m.ID, err)
	}
	return nil
}

// KeptMessages lists kept messages, newest first.
func (s *Store) KeptMessages(ctx context.Context, limit int) ([]digest.KeptMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, reason, raw, created_at FROM bounce_kept ORDER BY created_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: kept messages: %w", err)
	}
	defer rows.Close()
	var out []digest.KeptMessage
	for rows.Next() {
		var m digest.KeptMessage
		var at int64
		if err := rows.Scan(&m.ID, &m.Reason, &m.Raw, &at); err != nil {
			return nil, fmt.Errorf("postgres: kept messages: %w", err)
		}
		m.CreatedAt = fromMicros(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: kept messages: %w", err)
	}
	return out, nil
}

// Suppressions lists the suppression list, newest first, with the address
// of a subscriber that still exists.
func (s *Store) Suppressions(ctx context.Context) ([]digest.Suppression, error) {
	rows, err := s.pool.Query(ctx, `SELECT x.hash, x.reason, COALESCE(x.subscriber_id, 0), COALESCE(s.email, ''), x.created_at
		FROM suppressions x LEFT JOIN subscribers s ON s.id = x.subscriber_id ORDER BY x.created_at DESC, x.hash`)
	if err != nil {
		return nil, fmt.Errorf("postgres: suppressions: %w", err)
	}
	defer rows.Close()
	var out []digest.Suppression
	for rows.Next() {
		var x digest.Suppression
		var at int64
		var reason string
		if err := rows.Scan(&x.Hash, &reason, &x.SubscriberID, &x.Email, &at); err != nil {
			return nil, fmt.Errorf("postgres: suppressions: %w", err)
		}
		x.Reason, x.CreatedAt = digest.SuppressReason(reason), fromMicros(at)
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: suppressions: %w", err)
	}
	return out, nil
}

// Suppress puts hash on the suppression list (kept as it is if there).
func (s *Store) Suppress(ctx context.Context, hash []byte, reason digest.SuppressReason, subscriberID int64, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO suppressions (hash, reason, subscriber_id, created_at) VALUES ($1, $2, NULLIF($3, 0::bigint), $4)
		ON CONFLICT (hash) DO NOTHING`, hash, string(reason), subscriberID, micros(now)); err != nil {
		return fmt.Errorf("postgres: suppress: %w", err)
	}
	return nil
}

// Unsuppress lifts every suppression matching one of hashes.
func (s *Store) Unsuppress(ctx context.Context, hashes [][]byte) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM suppressions WHERE hash = ANY($1)`, hashes)
	if err != nil {
		return false, fmt.Errorf("postgres: unsuppress: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// Suppressed reports whether any of hashes is on the suppression list.
func (s *Store) Suppressed(ctx context.Context, hashes [][]byte) (bool, error) {
	var found bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions WHERE hash = ANY($1))`, hashes).Scan(&found); err != nil {
		return false, fmt.Errorf("postgres: suppressed: %w", err)
	}
	return found, nil
}

// RunFeedback counts a run's sent messages, hard bounces (deliveries now
// bounced), and the distinct subscribers with a soft bounce or complaint.
func (s *Store) RunFeedback(ctx context.Context, runID int64) (digest.RunFeedback, error) {
	var r digest.RunFeedback
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM digest_deliveries WHERE run_id = $1 AND status IN ('sent', 'bounced')),
		(SELECT COUNT(*) FROM digest_deliveries WHERE run_id = $1 AND status = 'bounced'),
		(SELECT COUNT(DISTINCT subscriber_id) FROM bounce_events WHERE run_id = $1 AND kind = 'soft'),
		(SELECT COUNT(DISTINCT subscriber_id) FROM bounce_events WHERE run_id = $1 AND kind = 'complaint')`, runID).
		Scan(&r.Sent, &r.Hard, &r.Soft, &r.Complaints)
	if err != nil {
		return r, fmt.Errorf("postgres: run feedback %d: %w", runID, err)
	}
	return r, nil
}
