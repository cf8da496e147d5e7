package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
)

// tokenKeyName is the secrets row holding the generated token key.
const tokenKeyName = "token_key"

// TokenKey returns the token signing key kept in the store, generating 32
// random bytes the first time (secrets.token_keys empty). Every process
// sharing the store gets the same key.
func (s *Store) TokenKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, tokenKeyName).Scan(&key)
	if err == nil && len(key) > 0 {
		return key, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: token key: %w", err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("sqlite: token key: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			tokenKeyName, fresh, micros(time.Now())); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, tokenKeyName).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: token key: %w", err)
	}
	return key, nil
}

// legacyMaxKey is the meta row holding the highest subscriber id when
// bound links came in (migration 005): old-format links verify only up to it.
const legacyMaxKey = "subscribers_legacy_max_id"

const subscriberCols = `id, email, name, status, created_at, updated_at, confirmed_at, unsubscribed_at,
	consent_at, consent_ip, consent_source, consent_text, confirm_sent_at, hard_failures, soft_failures, pending_choice,
	link_secret, legacy_links AND id <= COALESCE((SELECT value FROM meta WHERE key = '` + legacyMaxKey + `'), 0), language`

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

func fromNull(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func scanSubscriber(sc interface{ Scan(...any) error }) (*subscribe.Subscriber, error) {
	var sub subscribe.Subscriber
	var created, updated int64
	var confirmed, unsub, consentAt, sent sql.NullInt64
	var status string
	var pending sql.NullString
	err := sc.Scan(&sub.ID, &sub.Email, &sub.Name, &status, &created, &updated, &confirmed, &unsub,
		&consentAt, &sub.Consent.IP, &sub.Consent.Source, &sub.Consent.Text, &sent, &sub.HardFailures, &sub.SoftFailures, &pending,
		&sub.LinkSecret, &sub.LegacyLinks, &sub.Language)
	if err != nil {
		return nil, err
	}
	sub.Status = subscribe.Status(status)
	sub.CreatedAt, sub.UpdatedAt = fromMicros(created), fromMicros(updated)
	sub.ConfirmedAt, sub.UnsubscribedAt = fromNull(confirmed), fromNull(unsub)
	sub.Consent.At, sub.ConfirmSentAt = fromNull(consentAt), fromNull(sent)
	if pending.Valid && pending.String != "" {
		var c subscribe.Choice
		if err := json.Unmarshal([]byte(pending.String), &c); err == nil {
			sub.Pending = &c
		}
	}
	sub.Newsletters, sub.Tags = []string{}, []string{}
	return &sub, nil
}

// getSubscriber reads one subscriber with its newsletters and tags.
func getSubscriber(ctx context.Context, q querier, where string, arg any) (*subscribe.Subscriber, error) {
	sub, err := scanSubscriber(q.QueryRowContext(ctx, `SELECT `+subscriberCols+` FROM subscribers WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, subscribe.NotFound("")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: subscriber: %w", err)
	}
	if err := loadSubscriptions(ctx, q, map[int64]*subscribe.Subscriber{sub.ID: sub}, `subscriber_id = ?`, sub.ID); err != nil {
		return nil, err
	}
	return sub, nil
}

// loadSubscriptions fills Newsletters and Tags of the subscribers in byID
// from the rows matching where (over subscriber_id).
func loadSubscriptions(ctx context.Context, q querier, byID map[int64]*subscribe.Subscriber, where string, args ...any) error {
	rows, err := q.QueryContext(ctx, `SELECT subscriber_id, newsletter FROM subscriptions WHERE `+where+` ORDER BY subscriber_id, newsletter`, args...)
	if err != nil {
		return fmt.Errorf("sqlite: subscriptions: %w", err)
	}
	for rows.Next() {
		var id int64
		var nl string
		if err := rows.Scan(&id, &nl); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: subscriptions: %w", err)
		}
		if sub := byID[id]; sub != nil {
			sub.Newsletters = append(sub.Newsletters, nl)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: subscriptions: %w", err)
	}
	rows, err = q.QueryContext(ctx, `SELECT subscriber_id, tag_slug FROM subscriber_tags WHERE `+where+` ORDER BY subscriber_id, tag_slug`, args...)
	if err != nil {
		return fmt.Errorf("sqlite: subscriber tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return fmt.Errorf("sqlite: subscriber tags: %w", err)
		}
		if sub := byID[id]; sub != nil {
			sub.Tags = append(sub.Tags, tag)
		}
	}
	return rows.Err()
}

// GetSubscriber returns the subscriber with id, or ErrNotFound.
func (s *Store) GetSubscriber(ctx context.Context, id int64) (*subscribe.Subscriber, error) {
	return getSubscriber(ctx, s.r, `id = ?`, id)
}

// SubscriberByEmail returns the subscriber with the (normalised) address.
func (s *Store) SubscriberByEmail(ctx context.Context, email string) (*subscribe.Subscriber, error) {
	return getSubscriber(ctx, s.r, `email = ?`, email)
}

// setChoice replaces a subscriber's newsletters and tags.
func setChoice(ctx context.Context, tx *sql.Tx, id int64, newsletters, tags []string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE subscriber_id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: subscriptions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM subscriber_tags WHERE subscriber_id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: subscriber tags: %w", err)
	}
	for _, nl := range newsletters {
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, nl, id, micros(now)); err != nil {
			return fmt.Errorf("sqlite: subscriptions: %w", err)
		}
	}
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscriber_tags (subscriber_id, tag_slug) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, t); err != nil {
			return fmt.Errorf("sqlite: subscriber tags: %w", err)
		}
	}
	return nil
}

// RequestSubscription queues a subscribe request for email (already
// normalised) and takes its confirmation at once when the guards allow
// (QueueSubscription, TakeConfirmations with resend and no domain
// budget); send reports whether the mail is due now.
func (s *Store) RequestSubscription(ctx context.Context, email string, c subscribe.Choice, now time.Time, resend time.Duration) (sub *subscribe.Subscriber, send bool, err error) {
	if err := s.QueueSubscription(ctx, email, c, now); err != nil {
		return nil, false, err
	}
	subs, err := s.TakeConfirmations(ctx, email, subscribe.ConfirmLimits{Resend: resend}, now)
	if err != nil {
		return nil, false, err
	}
	if len(subs) == 1 {
		return subs[0], true, nil
	}
	sub, err = s.SubscriberByEmail(ctx, email)
	return sub, false, err
}

// MarkConfirmSent records that a confirmation mail went out at now.
func (s *Store) MarkConfirmSent(ctx context.Context, id int64, now time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE subscribers SET confirm_sent_at = ?, updated_at = ? WHERE id = ?`, micros(now), micros(now), id)
	if err != nil {
		return fmt.Errorf("sqlite: mark confirm: %w", err)
	}
	return nil
}

// ConfirmSubscriber confirms subscriber id: a pending one becomes active;
// an unsubscribed or bounced one with a re-subscription waiting takes
// that choice and becomes active. changed is false when nothing was
// waiting (already active, or an old link after unsubscribing).
func (s *Store) ConfirmSubscriber(ctx context.Context, id int64, now time.Time) (sub *subscribe.Subscriber, changed bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := getSubscriber(ctx, tx, `id = ?`, id)
		if err != nil {
			return err
		}
		sub = old
		switch {
		case old.Status == subscribe.StatusPending:
			if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET status = 'active', confirmed_at = ?, updated_at = ? WHERE id = ?`,
				micros(now), micros(now), id); err != nil {
				return fmt.Errorf("sqlite: confirm: %w", err)
			}
		case old.Pending != nil && (old.Status == subscribe.StatusUnsubscribed || old.Status == subscribe.StatusBounced):
			c := old.Pending
			name := old.Name
			if c.Name != "" {
				name = c.Name
			}
			if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET status = 'active', name = ?, confirmed_at = ?, unsubscribed_at = NULL,
				consent_at = ?, consent_ip = ?, consent_source = ?, consent_text = ?, hard_failures = 0, soft_failures = 0,
				pending_choice = NULL, updated_at = ? WHERE id = ?`,
				name, micros(now), nullMicros(c.Consent.At), c.Consent.IP, c.Consent.Source, c.Consent.Text, micros(now), id); err != nil {
				return fmt.Errorf("sqlite: confirm: %w", err)
			}
			if err := setChoice(ctx, tx, id, c.Newsletters, c.Tags, now); err != nil {
				return err
			}
			if err := setLanguage(ctx, tx, id, c.Language); err != nil {
				return err
			}
		default:
			return nil
		}
		changed = true
		sub, err = getSubscriber(ctx, tx, `id = ?`, id)
		return err
	})
	return sub, changed, err
}

// Unsubscribe removes subscriber id from newsletter ("" for all). With no
// newsletter left the status becomes unsubscribed (a bounced address stays
// bounced) and any waiting re-subscription is dropped.
func (s *Store) Unsubscribe(ctx context.Context, id int64, newsletter string, now time.Time) (sub *subscribe.Subscriber, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := getSubscriber(ctx, tx, `id = ?`, id); err != nil {
			return err
		}
		if err := leave(ctx, tx, id, newsletter, now); err != nil {
			return fmt.Errorf("sqlite: unsubscribe: %w", err)
		}
		var left int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subscriptions WHERE subscriber_id = ?`, id).Scan(&left); err != nil {
			return fmt.Errorf("sqlite: unsubscribe: %w", err)
		}
		if left == 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET status = CASE status WHEN 'bounced' THEN 'bounced' ELSE 'unsubscribed' END,
				unsubscribed_at = COALESCE(unsubscribed_at, ?), pending_choice = NULL, updated_at = ? WHERE id = ?`,
				micros(now), micros(now), id); err != nil {
				return fmt.Errorf("sqlite: unsubscribe: %w", err)
			}
		} else if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET updated_at = ? WHERE id = ?`, micros(now), id); err != nil {
			return fmt.Errorf("sqlite: unsubscribe: %w", err)
		}
		sub, err = getSubscriber(ctx, tx, `id = ?`, id)
		return err
	})
	return sub, err
}

// UpdatePreferences sets name, newsletters and tags of an active or pending
// subscriber. No newsletters left means unsubscribed.
func (s *Store) UpdatePreferences(ctx context.Context, id int64, name string, newsletters, tags []string, now time.Time) (*subscribe.Subscriber, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := getSubscriber(ctx, tx, `id = ?`, id)
		if err != nil {
			return err
		}
		var left []string
		for _, nl := range old.Newsletters {
			if !slices.Contains(newsletters, nl) {
				left = append(left, nl)
			}
		}
		if err := recordUnsubscribes(ctx, tx, left, now); err != nil {
			return fmt.Errorf("sqlite: preferences: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET name = ?, updated_at = ? WHERE id = ?`, name, micros(now), id); err != nil {
			return fmt.Errorf("sqlite: preferences: %w", err)
		}
		return setChoice(ctx, tx, id, newsletters, tags, now)
	})
	if err != nil {
		return nil, err
	}
	if len(newsletters) == 0 {
		return s.Unsubscribe(ctx, id, "", now)
	}
	return s.GetSubscriber(ctx, id)
}

// UpsertActive makes email an active subscriber of c's newsletters (added
// to any it has) on an operator's word (`subscribers add --confirmed`).
func (s *Store) UpsertActive(ctx context.Context, email string, c subscribe.Choice, now time.Time) (sub *subscribe.Subscriber, created bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := getSubscriber(ctx, tx, `email = ?`, email)
		var id int64
		switch {
		case errors.Is(err, store.ErrNotFound):
			if err := tx.QueryRowContext(ctx, `INSERT INTO subscribers (email, name, status, created_at, updated_at, confirmed_at,
				consent_at, consent_ip, consent_source, consent_text) VALUES (?, ?, 'active', ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				email, c.Name, micros(now), micros(now), micros(now), nullMicros(c.Consent.At), c.Consent.IP, c.Consent.Source, c.Consent.Text).Scan(&id); err != nil {
				return fmt.Errorf("sqlite: add subscriber: %w", err)
			}
			created = true
			if err := setChoice(ctx, tx, id, c.Newsletters, c.Tags, now); err != nil {
				return err
			}
			if err := setLanguage(ctx, tx, id, c.Language); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			id = old.ID
			name := old.Name
			if c.Name != "" {
				name = c.Name
			}
			if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET status = 'active', name = ?, confirmed_at = COALESCE(confirmed_at, ?),
				unsubscribed_at = NULL, pending_choice = NULL, consent_at = ?, consent_ip = ?, consent_source = ?, consent_text = ?, updated_at = ? WHERE id = ?`,
				name, micros(now), nullMicros(c.Consent.At), c.Consent.IP, c.Consent.Source, c.Consent.Text, micros(now), id); err != nil {
				return fmt.Errorf("sqlite: update subscriber: %w", err)
			}
			nls := union(old.Newsletters, c.Newsletters)
			tags := union(old.Tags, c.Tags)
			if err := setChoice(ctx, tx, id, nls, tags, now); err != nil {
				return err
			}
			if err := setLanguage(ctx, tx, id, c.Language); err != nil {
				return err
			}
		}
		sub, err = getSubscriber(ctx, tx, `id = ?`, id)
		return err
	})
	return sub, created, err
}

// setLanguage stores a chosen language; "" keeps the one stored.
func setLanguage(ctx context.Context, tx *sql.Tx, id int64, language string) error {
	if language == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET language = ? WHERE id = ?`, language, id); err != nil {
		return fmt.Errorf("sqlite: subscriber language: %w", err)
	}
	return nil
}

// SetLanguage sets subscriber id's language (the preferences page).
func (s *Store) SetLanguage(ctx context.Context, id int64, language string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE subscribers SET language = ?, updated_at = ? WHERE id = ?`, language, micros(now), id)
	if err != nil {
		return fmt.Errorf("sqlite: subscriber language: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return subscribe.NotFound("")
	}
	return nil
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// DeleteUnconfirmed deletes pending subscribers whose last confirmation
// mail went out before cutoff (twice subscribe.confirm_ttl ago). Pending
// rows that were never mailed (imported without --send-optin) stay.
func (s *Store) DeleteUnconfirmed(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM subscribers WHERE status = 'pending' AND confirmed_at IS NULL
		AND confirm_sent_at IS NOT NULL AND confirm_sent_at < ?`, micros(cutoff))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete unconfirmed: %w", err)
	}
	return res.RowsAffected()
}

// ListSubscribers returns the subscribers matching f, in the order they
// were added, with their newsletters and tags.
func (s *Store) ListSubscribers(ctx context.Context, f subscribe.Filter) ([]*subscribe.Subscriber, error) {
	if err := s.refold(ctx, f); err != nil {
		return nil, err
	}
	conds, args := filterConds(f)
	where := "1=1"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	out, byID, err := s.querySubscribers(ctx, `SELECT `+subscriberCols+` FROM subscribers WHERE `+where+` ORDER BY id`, args...)
	if err != nil || len(out) == 0 {
		return out, err
	}
	if err := loadSubscriptions(ctx, s.r, byID, `subscriber_id IN (SELECT id FROM subscribers WHERE `+where+`)`, args...); err != nil {
		return nil, err
	}
	return out, nil
}

// filterConds turns a Filter into SQL conditions on subscribers.
// f.Query matches the folded search column, which refold must have
// brought up to date first.
func filterConds(f subscribe.Filter) (conds []string, args []any) {
	if f.Status != "" {
		conds = append(conds, `status = ?`)
		args = append(args, string(f.Status))
	}
	// The topic's ids (few) drive; the newsletter is probed per row
	// rather than listed (most subscribers have it).
	if f.Tag != "" {
		conds = append(conds, `id IN (SELECT subscriber_id FROM subscriber_tags WHERE tag_slug = ?)`)
		args = append(args, f.Tag)
	}
	if f.Newsletter != "" {
		conds = append(conds, `EXISTS (SELECT 1 FROM subscriptions WHERE newsletter = ? AND subscriber_id = subscribers.id)`)
		args = append(args, f.Newsletter)
	}
	if f.Query != "" {
		// A query of three characters or more is looked up in the
		// trigram index (a quoted phrase: its characters are literal);
		// shorter ones have no trigram and scan. instr, not LIKE: the
		// query's % and _ are literal, and the column is folded already.
		if utf8.RuneCountInString(f.Query) >= 3 {
			conds = append(conds, `id IN (SELECT rowid FROM subscribers_search_fts WHERE subscribers_search_fts MATCH ?)`)
			args = append(args, `"`+strings.ReplaceAll(f.Query, `"`, `""`)+`"`)
		}
		conds = append(conds, `instr(search, ?) > 0`)
		args = append(args, f.Query)
	}
	return conds, args
}

// querySubscribers runs a query selecting subscriberCols; byID indexes the
// result for loadSubscriptions.
func (s *Store) querySubscribers(ctx context.Context, query string, args ...any) ([]*subscribe.Subscriber, map[int64]*subscribe.Subscriber, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: subscribers: %w", err)
	}
	defer rows.Close()
	out := []*subscribe.Subscriber{}
	byID := map[int64]*subscribe.Subscriber{}
	for rows.Next() {
		sub, err := scanSubscriber(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlite: subscribers: %w", err)
		}
		out = append(out, sub)
		byID[sub.ID] = sub
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: subscribers: %w", err)
	}
	return out, byID, nil
}

// EraseSubscriber deletes every personal datum of email (the record, its
// consent, newsletters, tags and digest deliveries) and keeps only counts:
// one in erasures, and each delivery in its run's counts. Deliveries not
// yet settled count as skipped ("erased"). Its id is never handed out
// again (AUTOINCREMENT), and the links mailed to it die with its secret.
func (s *Store) EraseSubscriber(ctx context.Context, email string, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		var status string
		err := tx.QueryRowContext(ctx, `SELECT id, status FROM subscribers WHERE email = ?`, email).Scan(&id, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return subscribe.NotFound(email)
		}
		if err != nil {
			return fmt.Errorf("sqlite: erase: %w", err)
		}
		if err := eraseDeliveries(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscribers WHERE id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: erase: %w", err)
		}
		if err := eraseConfirmGuards(ctx, tx, email); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO erasures (erased_at, status) VALUES (?, ?)`, micros(now), status); err != nil {
			return fmt.Errorf("sqlite: erase: %w", err)
		}
		return nil
	})
}

// eraseDeliveries folds every delivery row of subscriber id into its run's
// counts and deletes it. A pending or leased row counts as skipped (the
// row is gone, so a worker still sending it records nothing).
func eraseDeliveries(ctx context.Context, tx *sql.Tx, id int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT run_id, status FROM digest_deliveries WHERE subscriber_id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: erase deliveries: %w", err)
	}
	type counts struct{ sent, failed, skipped int }
	byRun := map[int64]*counts{}
	var runs []int64
	for rows.Next() {
		var run int64
		var st string
		if err := rows.Scan(&run, &st); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: erase deliveries: %w", err)
		}
		c := byRun[run]
		if c == nil {
			c = &counts{}
			byRun[run] = c
			runs = append(runs, run)
		}
		switch st {
		case "sent", "bounced": // a bounced message was sent
			c.sent++
		case "failed":
			c.failed++
		default: // skipped, and pending or sending: skipped as erased
			c.skipped++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: erase deliveries: %w", err)
	}
	for _, run := range runs {
		c := byRun[run]
		if _, err := tx.ExecContext(ctx, `UPDATE digest_runs SET sent_count = sent_count + ?, failed_count = failed_count + ?,
			skipped_count = skipped_count + ? WHERE id = ?`, c.sent, c.failed, c.skipped, run); err != nil {
			return fmt.Errorf("sqlite: erase deliveries: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM digest_deliveries WHERE run_id = ? AND subscriber_id = ?`, run, id); err != nil {
			return fmt.Errorf("sqlite: erase deliveries: %w", err)
		}
	}
	return nil
}

// Erasures counts erased subscribers.
func (s *Store) Erasures(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM erasures`).Scan(&n)
	return n, err
}

// importBatch is how many rows one import transaction holds.
const importBatch = 25000

// ImportSubscribers adds the subscribers that are not in the store yet,
// in large transactions with multi-row INSERTs; an address already stored
// (ignoring case) is left exactly as it is, so importing a file twice
// changes nothing. It sets each sub's ID; for an existing address it also
// sets Status and ConfirmSentAt from the store. created[i] reports whether
// subs[i] was added.
func (s *Store) ImportSubscribers(ctx context.Context, subs []*subscribe.Subscriber, now time.Time) (created []bool, err error) {
	created = make([]bool, len(subs))
	for start := 0; start < len(subs); start += importBatch {
		end := min(start+importBatch, len(subs))
		if err := s.inTx(ctx, func(tx *sql.Tx) error { return importBatchTx(ctx, tx, subs[start:end], created[start:end], now) }); err != nil {
			return created, err
		}
	}
	return created, nil
}

// multiInsert runs INSERT prefix VALUES (…),(…) over rows of cols
// values each, perRow placeholders at a time.
type multiInsert struct {
	ctx    context.Context
	tx     *sql.Tx
	prefix string
	suffix string // after the VALUES, as ON CONFLICT DO NOTHING
	cols   int
	max    int // rows per statement
	args   []any
	n      int
	// returning, when set, is a RETURNING clause; scan reads each row.
	returning string
	scan      func(*sql.Rows) error
}

func (m *multiInsert) add(vals ...any) error {
	m.args = append(m.args, vals...)
	m.n++
	if m.n >= m.max {
		return m.flush()
	}
	return nil
}

func (m *multiInsert) flush() error {
	if m.n == 0 {
		return nil
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", m.cols), ",") + ")"
	q := m.prefix + " VALUES " + strings.TrimSuffix(strings.Repeat(row+",", m.n), ",") + m.suffix
	if m.returning == "" {
		if _, err := m.tx.ExecContext(m.ctx, q, m.args...); err != nil {
			return fmt.Errorf("sqlite: import: %w", err)
		}
	} else if err := m.query(q + " RETURNING " + m.returning); err != nil {
		return fmt.Errorf("sqlite: import: %w", err)
	}
	m.args, m.n = m.args[:0], 0
	return nil
}

func (m *multiInsert) query(q string) error {
	rows, err := m.tx.QueryContext(m.ctx, q, m.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := m.scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func importBatchTx(ctx context.Context, tx *sql.Tx, subs []*subscribe.Subscriber, created []bool, now time.Time) error {
	type known struct {
		id     int64
		status string
		sent   sql.NullInt64
	}
	existing := map[string]known{}
	const chunk = 500
	for i := 0; i < len(subs); i += chunk {
		part := subs[i:min(i+chunk, len(subs))]
		args := make([]any, len(part))
		for j, sub := range part {
			args[j] = sub.Email
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, email, status, confirm_sent_at FROM subscribers WHERE email IN (`+
			strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")+`)`, args...)
		if err != nil {
			return fmt.Errorf("sqlite: import: %w", err)
		}
		for rows.Next() {
			var k known
			var email string
			if err := rows.Scan(&k.id, &email, &k.status, &k.sent); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: import: %w", err)
			}
			existing[strings.ToLower(email)] = k
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: import: %w", err)
		}
	}
	// New rows take ids from the sequence (never one used before); the
	// stored address maps each back to its sub.
	added := map[string]*subscribe.Subscriber{}
	insSub := &multiInsert{ctx: ctx, tx: tx, cols: 12, max: 80, prefix: `INSERT INTO subscribers (email, name, status, created_at, updated_at,
		confirmed_at, unsubscribed_at, consent_at, consent_ip, consent_source, consent_text, language)`,
		returning: "id, email", scan: func(rows *sql.Rows) error {
			var id int64
			var email string
			if err := rows.Scan(&id, &email); err != nil {
				return err
			}
			if sub := added[strings.ToLower(email)]; sub != nil {
				sub.ID = id
			}
			return nil
		}}
	for i, sub := range subs {
		key := strings.ToLower(sub.Email)
		if k, ok := existing[key]; ok {
			sub.ID, sub.Status, sub.ConfirmSentAt = k.id, subscribe.Status(k.status), fromNull(k.sent)
			continue
		}
		if prev := added[key]; prev != nil {
			// The same address twice in one file: the first one counts.
			sub.Status = prev.Status
			continue
		}
		at := sub.Consent.At
		if at.IsZero() {
			at = now
		}
		var confirmed, unsub any
		if sub.Status == subscribe.StatusActive {
			confirmed = micros(at)
		}
		if sub.Status == subscribe.StatusUnsubscribed {
			unsub = micros(now)
		}
		added[key] = sub
		created[i] = true
		if err := insSub.add(sub.Email, sub.Name, string(sub.Status), micros(at), micros(now), confirmed, unsub,
			micros(at), sub.Consent.IP, sub.Consent.Source, sub.Consent.Text, sub.Language); err != nil {
			return err
		}
	}
	if err := insSub.flush(); err != nil {
		return err
	}
	insNL := &multiInsert{ctx: ctx, tx: tx, cols: 3, max: 300, prefix: `INSERT INTO subscriptions (newsletter, subscriber_id, created_at)`, suffix: ` ON CONFLICT DO NOTHING`}
	insTag := &multiInsert{ctx: ctx, tx: tx, cols: 2, max: 400, prefix: `INSERT INTO subscriber_tags (subscriber_id, tag_slug)`, suffix: ` ON CONFLICT DO NOTHING`}
	for i, sub := range subs {
		if !created[i] {
			if sub.ID == 0 {
				sub.ID = added[strings.ToLower(sub.Email)].ID
			}
			continue
		}
		if sub.ID == 0 {
			return fmt.Errorf("sqlite: import: no id returned for %s", sub.Email)
		}
		at := sub.Consent.At
		if at.IsZero() {
			at = now
		}
		if sub.Status != subscribe.StatusUnsubscribed {
			for _, nl := range sub.Newsletters {
				if err := insNL.add(nl, sub.ID, micros(at)); err != nil {
					return err
				}
			}
		}
		for _, t := range sub.Tags {
			if err := insTag.add(sub.ID, t); err != nil {
				return err
			}
		}
	}
	for _, m := range []*multiInsert{insNL, insTag} {
		if err := m.flush(); err != nil {
			return err
		}
	}
	return nil
}

// SubscriberDeliveries lists every digest delivery to subscriber id,
// newest run first (rows summarised away by retention are gone).
func (s *Store) SubscriberDeliveries(ctx context.Context, id int64) ([]subscribe.Delivery, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT d.run_id, r.newsletter, r.subject, d.status, d.attempts, d.reply, d.message_id, d.sent_at
		FROM digest_deliveries d JOIN digest_runs r ON r.id = d.run_id
		WHERE d.subscriber_id = ? ORDER BY d.run_id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: subscriber deliveries: %w", err)
	}
	defer rows.Close()
	var out []subscribe.Delivery
	for rows.Next() {
		var d subscribe.Delivery
		var sent sql.NullInt64
		if err := rows.Scan(&d.Run, &d.Newsletter, &d.Subject, &d.Status, &d.Attempts, &d.Reply, &d.MessageID, &sent); err != nil {
			return nil, fmt.Errorf("sqlite: subscriber deliveries: %w", err)
		}
		if sent.Valid {
			t := fromMicros(sent.Int64)
			d.SentAt = &t
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
