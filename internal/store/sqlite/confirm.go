package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
)

// QueueSubscription records a subscribe request for email (normalised)
// in confirm_queue. It is the only write before the answer and the same
// statement whatever the address's state, so the answer's timing says
// nothing about it. A request already queued for the address is kept:
// the first one wins until confirmed (the no-op update still writes, as
// the insert does).
func (s *Store) QueueSubscription(ctx context.Context, email string, c subscribe.Choice, now time.Time) error {
	js, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("sqlite: queue subscription: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO confirm_queue (email, choice, queued_at) VALUES (?, ?, ?)
		ON CONFLICT (email) DO UPDATE SET queued_at = confirm_queue.queued_at`, email, string(js), micros(now)); err != nil {
		return fmt.Errorf("sqlite: queue subscription: %w", err)
	}
	return nil
}

type queued struct {
	email, choice string
	applied       bool
}

// TakeConfirmations records the queued requests (of email, or all with
// "") and returns the subscribers whose confirmation mail may go out now,
// marked as sent: not within lim.Resend of the last mail to the same
// address or mailbox, and within lim.DomainPerHour for the mailbox's
// domain. Requests a guard holds back stay queued for a later call;
// requests that need no mail (an active address) leave the queue.
func (s *Store) TakeConfirmations(ctx context.Context, email string, lim subscribe.ConfirmLimits, now time.Time) (out []*subscribe.Subscriber, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		out = nil
		q := `SELECT email, choice, applied FROM confirm_queue ORDER BY queued_at, email`
		var args []any
		if email != "" {
			q = `SELECT email, choice, applied FROM confirm_queue WHERE email = ?`
			args = append(args, email)
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("sqlite: confirm queue: %w", err)
		}
		var todo []queued
		for rows.Next() {
			var r queued
			if err := rows.Scan(&r.email, &r.choice, &r.applied); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: confirm queue: %w", err)
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: confirm queue: %w", err)
		}
		if len(todo) == 0 {
			return nil
		}
		hourAgo := micros(now.Add(-time.Hour))
		if _, err := tx.ExecContext(ctx, `DELETE FROM confirm_domain_sends WHERE sent_at <= ?`, hourAgo); err != nil {
			return fmt.Errorf("sqlite: confirm budget: %w", err)
		}
		for _, r := range todo {
			sub, want, err := takeOne(ctx, tx, r, now)
			if err != nil {
				return err
			}
			if !want {
				if _, err := tx.ExecContext(ctx, `DELETE FROM confirm_queue WHERE email = ?`, r.email); err != nil {
					return fmt.Errorf("sqlite: confirm queue: %w", err)
				}
				continue
			}
			ok, err := confirmAllowed(ctx, tx, sub, lim, now)
			if err != nil {
				return err
			}
			if !ok { // deferred: stays queued, recorded
				if !r.applied {
					if _, err := tx.ExecContext(ctx, `UPDATE confirm_queue SET applied = 1 WHERE email = ?`, r.email); err != nil {
						return fmt.Errorf("sqlite: confirm queue: %w", err)
					}
				}
				continue
			}
			mb := subscribe.Mailbox(sub.Email)
			if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET confirm_sent_at = ?, updated_at = ? WHERE id = ?`, micros(now), micros(now), sub.ID); err != nil {
				return fmt.Errorf("sqlite: mark confirm: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO confirm_mailboxes (mailbox, sent_at) VALUES (?, ?)
				ON CONFLICT (mailbox) DO UPDATE SET sent_at = excluded.sent_at`, mb, micros(now)); err != nil {
				return fmt.Errorf("sqlite: confirm guard: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO confirm_domain_sends (domain, sent_at) VALUES (?, ?)`, mailboxDomain(mb), micros(now)); err != nil {
				return fmt.Errorf("sqlite: confirm budget: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM confirm_queue WHERE email = ?`, r.email); err != nil {
				return fmt.Errorf("sqlite: confirm queue: %w", err)
			}
			sub.ConfirmSentAt = now
			out = append(out, sub)
		}
		return nil
	})
	return out, err
}

// takeOne records a queued request the first time it is seen (the caller
// marks it applied if it stays queued) and reports whether its address
// still wants a confirmation mail.
func takeOne(ctx context.Context, tx *sql.Tx, r queued, now time.Time) (*subscribe.Subscriber, bool, error) {
	if !r.applied {
		var c subscribe.Choice
		if err := json.Unmarshal([]byte(r.choice), &c); err != nil {
			return nil, false, nil // unreadable: nothing to do but drop it
		}
		return recordRequest(ctx, tx, r.email, c, now)
	}
	sub, err := getSubscriber(ctx, tx, `email = ?`, r.email)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil // erased or cleaned up meanwhile
	}
	if err != nil {
		return nil, false, err
	}
	return sub, wantsConfirm(sub), nil
}

// wantsConfirm: a pending address, or one that left and asked again.
func wantsConfirm(sub *subscribe.Subscriber) bool {
	switch sub.Status {
	case subscribe.StatusPending:
		return true
	case subscribe.StatusUnsubscribed, subscribe.StatusBounced:
		return sub.Pending != nil
	}
	return false
}

// confirmAllowed applies the three guards to a mail for sub at now.
func confirmAllowed(ctx context.Context, tx *sql.Tx, sub *subscribe.Subscriber, lim subscribe.ConfirmLimits, now time.Time) (bool, error) {
	if !sub.ConfirmSentAt.IsZero() && now.Sub(sub.ConfirmSentAt) < lim.Resend {
		return false, nil
	}
	mb := subscribe.Mailbox(sub.Email)
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT sent_at FROM confirm_mailboxes WHERE mailbox = ?`, mb).Scan(&last)
	switch {
	case err == nil:
		if now.Sub(fromMicros(last)) < lim.Resend {
			return false, nil
		}
	case !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("sqlite: confirm guard: %w", err)
	}
	if lim.DomainPerHour <= 0 {
		return true, nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM confirm_domain_sends WHERE domain = ? AND sent_at > ?`,
		mailboxDomain(mb), micros(now.Add(-time.Hour))).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: confirm budget: %w", err)
	}
	return n < lim.DomainPerHour, nil
}

func mailboxDomain(mb string) string {
	return mb[strings.LastIndexByte(mb, '@')+1:]
}

// ConfirmMailFailed undoes the guards TakeConfirmations set for a mail
// that could not be sent at now, so the person can ask again at once.
func (s *Store) ConfirmMailFailed(ctx context.Context, id int64, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var email string
		err := tx.QueryRowContext(ctx, `SELECT email FROM subscribers WHERE id = ?`, id).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlite: reset confirm: %w", err)
		}
		mb := subscribe.Mailbox(email)
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`UPDATE subscribers SET confirm_sent_at = NULL WHERE id = ? AND confirm_sent_at = ?`, []any{id, micros(now)}},
			{`DELETE FROM confirm_mailboxes WHERE mailbox = ? AND sent_at = ?`, []any{mb, micros(now)}},
			{`DELETE FROM confirm_domain_sends WHERE id = (SELECT id FROM confirm_domain_sends WHERE domain = ? AND sent_at = ? LIMIT 1)`,
				[]any{mailboxDomain(mb), micros(now)}},
		} {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("sqlite: reset confirm: %w", err)
			}
		}
		return nil
	})
}

// recordRequest records a subscribe request for email and reports
// whether a confirmation mail is wanted: a new address becomes pending
// with the choice (want); for a known one subscribe.OnRequest decides.
func recordRequest(ctx context.Context, tx *sql.Tx, email string, c subscribe.Choice, now time.Time) (*subscribe.Subscriber, bool, error) {
	old, err := getSubscriber(ctx, tx, `email = ?`, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO subscribers (email, name, status, created_at, updated_at,
			consent_at, consent_ip, consent_source, consent_text) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?) RETURNING id`,
			email, c.Name, micros(now), micros(now), nullMicros(c.Consent.At), c.Consent.IP, c.Consent.Source, c.Consent.Text).Scan(&id); err != nil {
			return nil, false, fmt.Errorf("sqlite: add subscriber: %w", err)
		}
		if err := setChoice(ctx, tx, id, c.Newsletters, c.Tags, now); err != nil {
			return nil, false, err
		}
		if err := setLanguage(ctx, tx, id, c.Language); err != nil {
			return nil, false, err
		}
		sub, err := getSubscriber(ctx, tx, `id = ?`, id)
		return sub, err == nil, err
	case err != nil:
		return nil, false, err
	}
	switch subscribe.OnRequest(old) {
	case subscribe.RequestNoMail:
		return old, false, nil
	case subscribe.RequestResend:
		// Still pending: the language asked for now is the one to mail in.
		if c.Language != "" && c.Language != old.Language {
			if err := setLanguage(ctx, tx, old.ID, c.Language); err != nil {
				return nil, false, err
			}
			old.Language = c.Language
		}
		return old, true, nil
	}
	js, err := json.Marshal(c)
	if err != nil {
		return nil, false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET pending_choice = ?, updated_at = ? WHERE id = ?`,
		string(js), micros(now), old.ID); err != nil {
		return nil, false, fmt.Errorf("sqlite: update subscriber: %w", err)
	}
	sub, err := getSubscriber(ctx, tx, `id = ?`, old.ID)
	return sub, err == nil, err
}

// UnknownTags returns the slugs among tags that are no tag of any stored
// article (any state).
func (s *Store) UnknownTags(ctx context.Context, tags []string) ([]string, error) {
	var out []string
	for _, t := range tags {
		var one int
		err := s.r.QueryRowContext(ctx, `SELECT 1 FROM tags t WHERE t.slug = ?
			AND EXISTS (SELECT 1 FROM article_tags a WHERE a.tag_id = t.id)`, t).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			out = append(out, t)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: tags: %w", err)
		}
	}
	return out, nil
}

// eraseConfirmGuards deletes the queued request and mailbox guard of
// email (erasure leaves no personal datum behind).
func eraseConfirmGuards(ctx context.Context, tx *sql.Tx, email string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM confirm_queue WHERE email = ?`, email); err != nil {
		return fmt.Errorf("sqlite: erase: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM confirm_mailboxes WHERE mailbox = ?`, subscribe.Mailbox(email)); err != nil {
		return fmt.Errorf("sqlite: erase: %w", err)
	}
	return nil
}
