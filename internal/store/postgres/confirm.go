package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/jackc/pgx/v5"
)

// confirmLock is the advisory lock key TakeConfirmations and
// ConfirmMailFailed hold, so instances sharing the store apply the guards
// one at a time and never mail one request twice ("confirm" in ASCII).
const confirmLock int64 = 0x636f6e6669726d

// QueueSubscription records a subscribe request for email (normalised)
// in confirm_queue. It is the only write before the answer and the same
// statement whatever the address's state, so the answer's timing says
// nothing about it. A request already queued for the address (ignoring
// case) is kept: the first one wins until confirmed (the no-op update
// still writes, as the insert does).
func (s *Store) QueueSubscription(ctx context.Context, email string, c subscribe.Choice, now time.Time) error {
	js, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("postgres: queue subscription: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO confirm_queue (email, choice, queued_at) VALUES ($1, $2, $3)
		ON CONFLICT ((lower(email))) DO UPDATE SET queued_at = confirm_queue.queued_at`, email, string(js), micros(now)); err != nil {
		return fmt.Errorf("postgres: queue subscription: %w", err)
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
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		out = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, confirmLock); err != nil {
			return fmt.Errorf("postgres: confirm queue: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT email, choice, applied FROM confirm_queue
			WHERE $1 = '' OR lower(email) = lower($1) ORDER BY queued_at, email`, email)
		if err != nil {
			return fmt.Errorf("postgres: confirm queue: %w", err)
		}
		var todo []queued
		for rows.Next() {
			var r queued
			if err := rows.Scan(&r.email, &r.choice, &r.applied); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: confirm queue: %w", err)
			}
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: confirm queue: %w", err)
		}
		if len(todo) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM confirm_domain_sends WHERE sent_at <= $1`, micros(now.Add(-time.Hour))); err != nil {
			return fmt.Errorf("postgres: confirm budget: %w", err)
		}
		for _, r := range todo {
			sub, want, err := takeOne(ctx, tx, r, now)
			if err != nil {
				return err
			}
			if !want {
				if _, err := tx.Exec(ctx, `DELETE FROM confirm_queue WHERE lower(email) = lower($1)`, r.email); err != nil {
					return fmt.Errorf("postgres: confirm queue: %w", err)
				}
				continue
			}
			ok, err := confirmAllowed(ctx, tx, sub, lim, now)
			if err != nil {
				return err
			}
			if !ok { // deferred: stays queued, recorded
				if !r.applied {
					if _, err := tx.Exec(ctx, `UPDATE confirm_queue SET applied = true WHERE lower(email) = lower($1)`, r.email); err != nil {
						return fmt.Errorf("postgres: confirm queue: %w", err)
					}
				}
				continue
			}
			mb := subscribe.Mailbox(sub.Email)
			if _, err := tx.Exec(ctx, `UPDATE subscribers SET confirm_sent_at = $1, updated_at = $1 WHERE id = $2`, micros(now), sub.ID); err != nil {
				return fmt.Errorf("postgres: mark confirm: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO confirm_mailboxes (mailbox, sent_at) VALUES ($1, $2)
				ON CONFLICT (mailbox) DO UPDATE SET sent_at = excluded.sent_at`, mb, micros(now)); err != nil {
				return fmt.Errorf("postgres: confirm guard: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO confirm_domain_sends (domain, sent_at) VALUES ($1, $2)`, mailboxDomain(mb), micros(now)); err != nil {
				return fmt.Errorf("postgres: confirm budget: %w", err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM confirm_queue WHERE lower(email) = lower($1)`, r.email); err != nil {
				return fmt.Errorf("postgres: confirm queue: %w", err)
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
func takeOne(ctx context.Context, tx pgx.Tx, r queued, now time.Time) (*subscribe.Subscriber, bool, error) {
	if !r.applied {
		var c subscribe.Choice
		if err := json.Unmarshal([]byte(r.choice), &c); err != nil {
			return nil, false, nil // unreadable: nothing to do but drop it
		}
		return recordRequest(ctx, tx, r.email, c, now)
	}
	sub, err := getSubscriber(ctx, tx, byEmailWhere, r.email)
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
func confirmAllowed(ctx context.Context, tx pgx.Tx, sub *subscribe.Subscriber, lim subscribe.ConfirmLimits, now time.Time) (bool, error) {
	if !sub.ConfirmSentAt.IsZero() && now.Sub(sub.ConfirmSentAt) < lim.Resend {
		return false, nil
	}
	mb := subscribe.Mailbox(sub.Email)
	var last int64
	err := tx.QueryRow(ctx, `SELECT sent_at FROM confirm_mailboxes WHERE mailbox = $1`, mb).Scan(&last)
	switch {
	case err == nil:
		if now.Sub(fromMicros(last)) < lim.Resend {
			return false, nil
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return false, fmt.Errorf("postgres: confirm guard: %w", err)
	}
	if lim.DomainPerHour <= 0 {
		return true, nil
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM confirm_domain_sends WHERE domain = $1 AND sent_at > $2`,
		mailboxDomain(mb), micros(now.Add(-time.Hour))).Scan(&n); err != nil {
		return false, fmt.Errorf("postgres: confirm budget: %w", err)
	}
	return n < lim.DomainPerHour, nil
}

func mailboxDomain(mb string) string {
	return mb[strings.LastIndexByte(mb, '@')+1:]
}

// ConfirmMailFailed undoes the guards TakeConfirmations set for a mail
// that could not be sent at now, so the person can ask again at once.
func (s *Store) ConfirmMailFailed(ctx context.Context, id int64, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, confirmLock); err != nil {
			return fmt.Errorf("postgres: reset confirm: %w", err)
		}
		var email string
		err := tx.QueryRow(ctx, `SELECT email FROM subscribers WHERE id = $1`, id).Scan(&email)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("postgres: reset confirm: %w", err)
		}
		mb := subscribe.Mailbox(email)
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`UPDATE subscribers SET confirm_sent_at = NULL WHERE id = $1 AND confirm_sent_at = $2`, []any{id, micros(now)}},
			{`DELETE FROM confirm_mailboxes WHERE mailbox = $1 AND sent_at = $2`, []any{mb, micros(now)}},
			{`DELETE FROM confirm_domain_sends WHERE id = (SELECT id FROM confirm_domain_sends WHERE domain = $1 AND sent_at = $2 LIMIT 1)`,
				[]any{mailboxDomain(mb), micros(now)}},
		} {
			if _, err := tx.Exec(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("postgres: reset confirm: %w", err)
			}
		}
		return nil
	})
}

// recordRequest records a subscribe request for email and reports
// whether a confirmation mail is wanted: a new address becomes pending
// with the choice (want); for a known one subscribe.OnRequest decides.
func recordRequest(ctx context.Context, tx pgx.Tx, email string, c subscribe.Choice, now time.Time) (*subscribe.Subscriber, bool, error) {
	old, err := getSubscriberLock(ctx, tx, byEmailWhere, email, true)
	switch {
	case errors.Is(err, store.ErrNotFound):
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO subscribers (email, name, status, created_at, updated_at,
			consent_at, consent_ip, consent_source, consent_text) VALUES ($1, $2, 'pending', $3, $3, $4, $5, $6, $7) RETURNING id`,
			email, c.Name, micros(now), nullMicros(c.Consent.At), c.Consent.IP, c.Consent.Source, c.Consent.Text).Scan(&id); err != nil {
			return nil, false, fmt.Errorf("postgres: add subscriber: %w", storeErr(err))
		}
		if err := setChoice(ctx, tx, id, c.Newsletters, c.Tags, now); err != nil {
			return nil, false, err
		}
		if err := setLanguage(ctx, tx, id, c.Language); err != nil {
			return nil, false, err
		}
		sub, err := getSubscriber(ctx, tx, byIDWhere, id)
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
	if _, err := tx.Exec(ctx, `UPDATE subscribers SET pending_choice = $1, updated_at = $2 WHERE id = $3`,
		string(js), micros(now), old.ID); err != nil {
		return nil, false, fmt.Errorf("postgres: update subscriber: %w", err)
	}
	sub, err := getSubscriber(ctx, tx, byIDWhere, old.ID)
	return sub, err == nil, err
}

// UnknownTags returns the slugs among tags that are no tag of any stored
// article (any state), in the order given.
func (s *Store) UnknownTags(ctx context.Context, tags []string) ([]string, error) {
	var out []string
	for _, t := range tags {
		var known bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tags t WHERE t.slug = $1
			AND EXISTS (SELECT 1 FROM article_tags a WHERE a.tag_id = t.id))`, t).Scan(&known); err != nil {
			return nil, fmt.Errorf("postgres: tags: %w", err)
		}
		if !known {
			out = append(out, t)
		}
	}
	return out, nil
}

// eraseConfirmGuards deletes the queued request and mailbox guard of
// email (erasure leaves no personal datum behind).
func eraseConfirmGuards(ctx context.Context, tx pgx.Tx, email string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM confirm_queue WHERE lower(email) = lower($1)`, email); err != nil {
		return fmt.Errorf("postgres: erase: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM confirm_mailboxes WHERE mailbox = $1`, subscribe.Mailbox(email)); err != nil {
		return fmt.Errorf("postgres: erase: %w", err)
	}
	return nil
}
