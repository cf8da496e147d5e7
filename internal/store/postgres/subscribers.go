package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/jackc/pgx/v5"
)

// nullMicros is NULL for the zero time.
func nullMicros(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := micros(t)
	return &v
}

// legacyMaxKey is the meta row holding the highest subscriber id when
// bound links came in: old-format links verify only up to it.
const legacyMaxKey = "subscribers_legacy_max_id"

const subscriberCols = `id, email, name, status, created_at, updated_at, confirmed_at, unsubscribed_at,
	consent_at, consent_ip, consent_source, consent_text, confirm_sent_at, hard_failures, soft_failures, pending_choice,
	link_secret, legacy_links AND id <= COALESCE((SELECT value FROM meta WHERE key = '` + legacyMaxKey + `'), 0), language`

func scanSubscriber(sc interface{ Scan(...any) error }) (*subscribe.Subscriber, error) {
	var sub subscribe.Subscriber
	var created, updated int64
	var confirmed, unsub, consentAt, sent *int64
	var status string
	var pending *string
	err := sc.Scan(&sub.ID, &sub.Email, &sub.Name, &status, &created, &updated, &confirmed, &unsub,
		&consentAt, &sub.Consent.IP, &sub.Consent.Source, &sub.Consent.Text, &sent, &sub.HardFailures, &sub.SoftFailures, &pending,
		&sub.LinkSecret, &sub.LegacyLinks, &sub.Language)
	if err != nil {
		return nil, err
	}
	sub.Status = subscribe.Status(status)
	sub.CreatedAt, sub.UpdatedAt = fromMicros(created), fromMicros(updated)
	sub.ConfirmedAt, sub.UnsubscribedAt = fromMicrosPtr(confirmed), fromMicrosPtr(unsub)
	sub.Consent.At, sub.ConfirmSentAt = fromMicrosPtr(consentAt), fromMicrosPtr(sent)
	if pending != nil && *pending != "" {
		var c subscribe.Choice
		if err := json.Unmarshal([]byte(*pending), &c); err == nil {
			sub.Pending = &c
		}
	}
	sub.Newsletters, sub.Tags = []string{}, []string{}
	return &sub, nil
}

// byIDWhere and byEmailWhere select one subscriber; an address matches
// ignoring case (the unique index is on lower(email)).
const (
	byIDWhere    = `id = $1`
	byEmailWhere = `lower(email) = lower($1)`
)

// getSubscriber reads one subscriber with its newsletters and tags; lock
// takes the row for update (a transaction changing it).
func getSubscriber(ctx context.Context, q queryer, where string, arg any) (*subscribe.Subscriber, error) {
	return getSubscriberLock(ctx, q, where, arg, false)
}

func getSubscriberLock(ctx context.Context, q queryer, where string, arg any, lock bool) (*subscribe.Subscriber, error) {
	query := `SELECT ` + subscriberCols + ` FROM subscribers WHERE ` + where
	if lock {
		query += ` FOR UPDATE`
	}
	sub, err := scanSubscriber(q.QueryRow(ctx, query, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, subscribe.NotFound("")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: subscriber: %w", err)
	}
	if err := loadSubscriptions(ctx, q, map[int64]*subscribe.Subscriber{sub.ID: sub}, []int64{sub.ID}); err != nil {
		return nil, err
	}
	return sub, nil
}

// loadSubscriptions fills Newsletters and Tags of the subscribers in byID
// (ids: their keys).
func loadSubscriptions(ctx context.Context, q queryer, byID map[int64]*subscribe.Subscriber, ids []int64) error {
	rows, err := q.Query(ctx, `SELECT subscriber_id, newsletter FROM subscriptions WHERE subscriber_id = ANY($1) ORDER BY subscriber_id, newsletter`, ids)
	if err != nil {
		return fmt.Errorf("postgres: subscriptions: %w", err)
	}
	for rows.Next() {
		var id int64
		var nl string
		if err := rows.Scan(&id, &nl); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: subscriptions: %w", err)
		}
		if sub := byID[id]; sub != nil {
			sub.Newsletters = append(sub.Newsletters, nl)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: subscriptions: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT subscriber_id, tag_slug FROM subscriber_tags WHERE subscriber_id = ANY($1) ORDER BY subscriber_id, tag_slug`, ids)
	if err != nil {
		return fmt.Errorf("postgres: subscriber tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return fmt.Errorf("postgres: subscriber tags: %w", err)
		}
		if sub := byID[id]; sub != nil {
			sub.Tags = append(sub.Tags, tag)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: subscriber tags: %w", err)
	}
	return nil
}

// GetSubscriber returns the subscriber with id, or ErrNotFound.
func (s *Store) GetSubscriber(ctx context.Context, id int64) (*subscribe.Subscriber, error) {
	return getSubscriber(ctx, s.pool, byIDWhere, id)
}

// SubscriberByEmail returns the subscriber with the (normalised) address.
func (s *Store) SubscriberByEmail(ctx context.Context, email string) (*subscribe.Subscriber, error) {
	return getSubscriber(ctx, s.pool, byEmailWhere, email)
}

// setChoice replaces a subscriber's newsletters and tags.
// setLanguage stores a chosen language; "" keeps the one stored.
func setLanguage(ctx context.Context, tx pgx.Tx, id int64, language string) error {
	if language == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE subscribers SET language = $1 WHERE id = $2`, language, id); err != nil {
		return fmt.Errorf("postgres: subscriber language: %w", err)
	}
	return nil
}

// SetLanguage sets subscriber id's language (the preferences page).
func (s *Store) SetLanguage(ctx context.Context, id int64, language string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE subscribers SET language = $1, updated_at = $2 WHERE id = $3`, language, micros(now), id)
	if err != nil {
		return fmt.Errorf("postgres: subscriber language: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return subscribe.NotFound("")
	}
	return nil
}

func setChoice(ctx context.Context, tx pgx.Tx, id int64, newsletters, tags []string, now time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM subscriptions WHERE subscriber_id = $1`, id); err != nil {
		return fmt.Errorf("postgres: subscriptions: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM subscriber_tags WHERE subscriber_id = $1`, id); err != nil {
		return fmt.Errorf("postgres: subscriber tags: %w", err)
	}
	if len(newsletters) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at)
			SELECT DISTINCT nl, $2::bigint, $3::bigint FROM unnest($1::text[]) AS nl ON CONFLICT DO NOTHING`, newsletters, id, micros(now)); err != nil {
			return fmt.Errorf("postgres: subscriptions: %w", err)
		}
	}
	if len(tags) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO subscriber_tags (subscriber_id, tag_slug)
			SELECT DISTINCT $2::bigint, t FROM unnest($1::text[]) AS t ON CONFLICT DO NOTHING`, tags, id); err != nil {
			return fmt.Errorf("postgres: subscriber tags: %w", err)
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
	if _, err := s.pool.Exec(ctx, `UPDATE subscribers SET confirm_sent_at = $1, updated_at = $1 WHERE id = $2`, micros(now), id); err != nil {
		return fmt.Errorf("postgres: mark confirm: %w", err)
	}
	return nil
}

// ConfirmSubscriber confirms subscriber id: a pending one becomes active;
// an unsubscribed or bounced one with a re-subscription waiting takes
// that choice and becomes active. changed is false when nothing was
// waiting (already active, or an old link after unsubscribing).
func (s *Store) ConfirmSubscriber(ctx context.Context, id int64, now time.Time) (sub *subscribe.Subscriber, changed bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		changed = false
		old, err := getSubscriberLock(ctx, tx, byIDWhere, id, true)
		if err != nil {
			return err
		}
		sub = old
		switch {
		case old.Status == subscribe.StatusPending:
			if _, err := tx.Exec(ctx, `UPDATE subscribers SET status = 'active', confirmed_at = $1, updated_at = $1 WHERE id = $2`,
				micros(now), id); err != nil {
				return fmt.Errorf("postgres: confirm: %w", err)
			}
		case old.Pending != nil && (old.Status == subscribe.StatusUnsubscribed || old.Status == subscribe.StatusBounced):
			c := old.Pending
			name := old.Name
			if c.Name != "" {
				name = c.Name
			}
			if _, err := tx.Exec(ctx, `UPDATE subscribers SET status = 'active', name = $1, confirmed_at = $2, unsubscribed_at = NULL,
				consent_at = $3, consent_ip = $4, consent_source = $5, consent_text = $6, hard_failures = 0, soft_failures = 0,
				pending_choice = NULL, updated_at = $2 WHERE id = $7`,
				name, micros(now), nullMicros(c.Consent.At), c.Consent.IP, c.Consent.Source, c.Consent.Text, id); err != nil {
				return fmt.Errorf("postgres: confirm: %w", err)
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
		sub, err = getSubscriber(ctx, tx, byIDWhere, id)
		return err
	})
	return sub, changed, err
}

// Unsubscribe removes subscriber id from newsletter ("" for all). With no
// newsletter left the status becomes unsubscribed (a bounced address stays
// bounced) and any waiting re-subscription is dropped.
func (s *Store) Unsubscribe(ctx context.Context, id int64, newsletter string, now time.Time) (sub *subscribe.Subscriber, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := getSubscriberLock(ctx, tx, byIDWhere, id, true); err != nil {
			return err
		}
		if err := leave(ctx, tx, id, newsletter, now); err != nil {
			return fmt.Errorf("postgres: unsubscribe: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE subscribers SET
			status = CASE WHEN EXISTS (SELECT 1 FROM subscriptions WHERE subscriber_id = $2) OR status = 'bounced' THEN status ELSE 'unsubscribed' END,
			unsubscribed_at = CASE WHEN EXISTS (SELECT 1 FROM subscriptions WHERE subscriber_id = $2) THEN unsubscribed_at ELSE COALESCE(unsubscribed_at, $1) END,
			pending_choice = CASE WHEN EXISTS (SELECT 1 FROM subscriptions WHERE subscriber_id = $2) THEN pending_choice END,
			updated_at = $1 WHERE id = $2`, micros(now), id); err != nil {
			return fmt.Errorf("postgres: unsubscribe: %w", err)
		}
		sub, err = getSubscriber(ctx, tx, byIDWhere, id)
		return err
	})
	return sub, err
}

// UpdatePreferences sets name, newsletters and tags of an active or pending
// subscriber. No newsletters left means unsubscribed.
func (s *Store) UpdatePreferences(ctx context.Context, id int64, name string, newsletters, tags []string, now time.Time) (*subscribe.Subscriber, error) {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := getSubscriberLock(ctx, tx, byIDWhere, id, true)
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
			return fmt.Errorf("postgres: preferences: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE subscribers SET name = $1, updated_at = $2 WHERE id = $3`, name, micros(now), id); err != nil {
			return fmt.Errorf("postgres: preferences: %w", err)
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
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		created = false
		old, err := getSubscriberLock(ctx, tx, byEmailWhere, email, true)
		var id int64
		switch {
		case errors.Is(err, store.ErrNotFound):
			if err := tx.QueryRow(ctx, `INSERT INTO subscribers (email, name, status, created_at, updated_at, confirmed_at,
				consent_at, consent_ip, consent_source, consent_text) VALUES ($1, $2, 'active', $3, $3, $3, $4, $5, $6, $7) RETURNING id`,
				email, c.Name, micros(now), nullMicros(c.Consent.At), c.Consent.IP, c.Consent.Source, c.Consent.Text).Scan(&id); err != nil {
				return fmt.Errorf("postgres: add subscriber: %w", storeErr(err))
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
			if _, err := tx.Exec(ctx, `UPDATE subscribers SET status = 'active', name = $1, confirmed_at = COALESCE(confirmed_at, $2),
				unsubscribed_at = NULL, pending_choice = NULL, consent_at = $3, consent_ip = $4, consent_source = $5, consent_text = $6, updated_at = $2 WHERE id = $7`,
				name, micros(now), nullMicros(c.Consent.At), c.Consent.IP, c.Consent.Source, c.Consent.Text, id); err != nil {
				return fmt.Errorf("postgres: update subscriber: %w", err)
			}
			if err := setChoice(ctx, tx, id, union(old.Newsletters, c.Newsletters), union(old.Tags, c.Tags), now); err != nil {
				return err
			}
			if err := setLanguage(ctx, tx, id, c.Language); err != nil {
				return err
			}
		}
		sub, err = getSubscriber(ctx, tx, byIDWhere, id)
		return err
	})
	return sub, created, err
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
	tag, err := s.pool.Exec(ctx, `DELETE FROM subscribers WHERE status = 'pending' AND confirmed_at IS NULL
		AND confirm_sent_at IS NOT NULL AND confirm_sent_at < $1`, micros(cutoff))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete unconfirmed: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ListSubscribers returns the subscribers matching f, in the order they
// were added, with their newsletters and tags.
func (s *Store) ListSubscribers(ctx context.Context, f subscribe.Filter) ([]*subscribe.Subscriber, error) {
	return s.SearchSubscribers(ctx, f, 0, 0)
}

// filterConds turns a Filter into SQL conditions on subscribers, numbering
// placeholders after those already in args.
func filterConds(f subscribe.Filter, args []any) ([]string, []any) {
	var conds []string
	if f.Status != "" {
		args = append(args, string(f.Status))
		conds = append(conds, fmt.Sprintf(`status = $%d`, len(args)))
	}
	if f.Newsletter != "" {
		args = append(args, f.Newsletter)
		conds = append(conds, fmt.Sprintf(`id IN (SELECT subscriber_id FROM subscriptions WHERE newsletter = $%d)`, len(args)))
	}
	if f.Tag != "" {
		args = append(args, f.Tag)
		conds = append(conds, fmt.Sprintf(`id IN (SELECT subscriber_id FROM subscriber_tags WHERE tag_slug = $%d)`, len(args)))
	}
	if f.Query != "" {
		// LIKE with the wildcards escaped, so the trigram index serves
		// it; the column is folded already (refold).
		args = append(args, "%"+likeEscaper.Replace(f.Query)+"%")
		conds = append(conds, fmt.Sprintf(`search LIKE $%d ESCAPE '\'`, len(args)))
	}
	return conds, args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// querySubscribers runs a query selecting subscriberCols and loads their
// newsletters and tags.
func (s *Store) querySubscribers(ctx context.Context, query string, args ...any) ([]*subscribe.Subscriber, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: subscribers: %w", err)
	}
	out := []*subscribe.Subscriber{}
	byID := map[int64]*subscribe.Subscriber{}
	var ids []int64
	for rows.Next() {
		sub, err := scanSubscriber(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: subscribers: %w", err)
		}
		out = append(out, sub)
		byID[sub.ID] = sub
		ids = append(ids, sub.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: subscribers: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	if err := loadSubscriptions(ctx, s.pool, byID, ids); err != nil {
		return nil, err
	}
	return out, nil
}

// SubscriberDeliveries lists every digest delivery to subscriber id,
// newest run first (rows summarised away by retention are gone).
func (s *Store) SubscriberDeliveries(ctx context.Context, id int64) ([]subscribe.Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT d.run_id, r.newsletter, r.subject, d.status, d.attempts, d.reply, d.message_id, d.sent_at
		FROM digest_deliveries d JOIN digest_runs r ON r.id = d.run_id
		WHERE d.subscriber_id = $1 ORDER BY d.run_id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: subscriber deliveries: %w", err)
	}
	defer rows.Close()
	var out []subscribe.Delivery
	for rows.Next() {
		var d subscribe.Delivery
		var sent *int64
		if err := rows.Scan(&d.Run, &d.Newsletter, &d.Subject, &d.Status, &d.Attempts, &d.Reply, &d.MessageID, &sent); err != nil {
			return nil, fmt.Errorf("postgres: subscriber deliveries: %w", err)
		}
		if sent != nil {
			t := fromMicros(*sent)
			d.SentAt = &t
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: subscriber deliveries: %w", err)
	}
	return out, nil
}

// EraseSubscriber deletes every personal datum of email (the record, its
// consent, newsletters, tags, digest deliveries, queued request and
// mailbox guard) and keeps only counts: one in erasures, and each delivery
// in its run's counts. Deliveries not yet settled count as skipped
// ("erased"). Its id is never handed out again (an identity column), and
// the links mailed to it die with its secret.
func (s *Store) EraseSubscriber(ctx context.Context, email string, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		var status, stored string
		err := tx.QueryRow(ctx, `SELECT id, status, email FROM subscribers WHERE lower(email) = lower($1) FOR UPDATE`, email).Scan(&id, &status, &stored)
		if errors.Is(err, pgx.ErrNoRows) {
			return subscribe.NotFound(email)
		}
		if err != nil {
			return fmt.Errorf("postgres: erase: %w", err)
		}
		// One statement deletes the rows and counts exactly those, so a
		// worker recording an outcome meanwhile is counted once or not
		// at all.
		if _, err := tx.Exec(ctx, `WITH gone AS (
				DELETE FROM digest_deliveries WHERE subscriber_id = $1 RETURNING run_id, status
			), c AS (
				SELECT run_id, count(*) FILTER (WHERE status IN ('sent', 'bounced')) AS sent,
					count(*) FILTER (WHERE status = 'failed') AS failed,
					count(*) FILTER (WHERE status NOT IN ('sent', 'bounced', 'failed')) AS skipped
				FROM gone GROUP BY run_id
			)
			UPDATE digest_runs r SET sent_count = r.sent_count + c.sent, failed_count = r.failed_count + c.failed,
				skipped_count = r.skipped_count + c.skipped FROM c WHERE r.id = c.run_id`, id); err != nil {
			return fmt.Errorf("postgres: erase deliveries: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM subscribers WHERE id = $1`, id); err != nil {
			return fmt.Errorf("postgres: erase: %w", err)
		}
		if err := eraseConfirmGuards(ctx, tx, stored); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO erasures (erased_at, status) VALUES ($1, $2)`, micros(now), status); err != nil {
			return fmt.Errorf("postgres: erase: %w", err)
		}
		return nil
	})
}

// Erasures counts erased subscribers.
func (s *Store) Erasures(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM erasures`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: erasures: %w", err)
	}
	return n, nil
}

// importBatch is how many rows one import transaction holds.
const importBatch = 25000

// ImportSubscribers adds the subscribers that are not in the store yet,
// in large transactions with array INSERTs; an address already stored
// (ignoring case) is left exactly as it is, so importing a file twice
// changes nothing. It sets each sub's ID; for an existing address it also
// sets Status and ConfirmSentAt from the store. created[i] reports whether
// subs[i] was added. New rows take ids from the identity sequence, never
// one used before.
func (s *Store) ImportSubscribers(ctx context.Context, subs []*subscribe.Subscriber, now time.Time) (created []bool, err error) {
	created = make([]bool, len(subs))
	for start := 0; start < len(subs); start += importBatch {
		end := min(start+importBatch, len(subs))
		part, cr := subs[start:end], created[start:end]
		if err := s.inTx(ctx, func(tx pgx.Tx) error {
			clear(cr)
			return importBatchTx(ctx, tx, part, cr, now)
		}); err != nil {
			return created, err
		}
	}
	return created, nil
}

func importBatchTx(ctx context.Context, tx pgx.Tx, subs []*subscribe.Subscriber, created []bool, now time.Time) error {
	type known struct {
		id     int64
		status string
		sent   *int64
	}
	keys := make([]string, len(subs))
	for i, sub := range subs {
		keys[i] = strings.ToLower(sub.Email)
	}
	existing := map[string]known{}
	rows, err := tx.Query(ctx, `SELECT id, lower(email), status, confirm_sent_at FROM subscribers WHERE lower(email) = ANY($1)`, keys)
	if err != nil {
		return fmt.Errorf("postgres: import: %w", err)
	}
	for rows.Next() {
		var k known
		var key string
		if err := rows.Scan(&k.id, &key, &k.status, &k.sent); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: import: %w", err)
		}
		existing[key] = k
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: import: %w", err)
	}
	var (
		added                                    = map[string]*subscribe.Subscriber{}
		email, name, status, ip, source, text    []string
		langs                                    []string
		createdAt, confirmed, unsubAt, consentAt []*int64
		nlNames                                  []string
		nlIDs, nlAt, tagIDs                      []int64
		tagSlugs                                 []string
		order                                    []*subscribe.Subscriber
	)
	for i, sub := range subs {
		key := keys[i]
		if k, ok := existing[key]; ok {
			sub.ID, sub.Status, sub.ConfirmSentAt = k.id, subscribe.Status(k.status), fromMicrosPtr(k.sent)
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
		var conf, unsub *int64
		if sub.Status == subscribe.StatusActive {
			conf = nullMicros(at)
		}
		if sub.Status == subscribe.StatusUnsubscribed {
			unsub = nullMicros(now)
		}
		added[key] = sub
		created[i] = true
		order = append(order, sub)
		email, name, status = append(email, sub.Email), append(name, sub.Name), append(status, string(sub.Status))
		createdAt, confirmed, unsubAt, consentAt = append(createdAt, nullMicros(at)), append(confirmed, conf), append(unsubAt, unsub), append(consentAt, nullMicros(at))
		ip, source, text = append(ip, sub.Consent.IP), append(source, sub.Consent.Source), append(text, sub.Consent.Text)
		langs = append(langs, sub.Language)
	}
	if len(order) > 0 {
		rows, err := tx.Query(ctx, `INSERT INTO subscribers (email, name, status, created_at, updated_at,
			confirmed_at, unsubscribed_at, consent_at, consent_ip, consent_source, consent_text, language)
			SELECT e, n, st, ca, $4, co, un, cs, ip, so, tx, lg
			FROM unnest($1::text[], $2::text[], $3::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[])
				AS u(e, n, st, ca, co, un, cs, ip, so, tx, lg)
			RETURNING id, lower(email)`,
			email, name, status, micros(now), createdAt, confirmed, unsubAt, consentAt, ip, source, text, langs)
		if err != nil {
			return fmt.Errorf("postgres: import: %w", storeErr(err))
		}
		for rows.Next() {
			var id int64
			var key string
			if err := rows.Scan(&id, &key); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: import: %w", err)
			}
			if sub := added[key]; sub != nil {
				sub.ID = id
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: import: %w", storeErr(err))
		}
	}
	for i, sub := range subs {
		if !created[i] {
			if sub.ID == 0 {
				sub.ID = added[keys[i]].ID
			}
			continue
		}
		if sub.ID == 0 {
			return fmt.Errorf("postgres: import: no id returned for %s", sub.Email)
		}
		at := sub.Consent.At
		if at.IsZero() {
			at = now
		}
		if sub.Status != subscribe.StatusUnsubscribed {
			for _, nl := range sub.Newsletters {
				nlNames, nlIDs, nlAt = append(nlNames, nl), append(nlIDs, sub.ID), append(nlAt, micros(at))
			}
		}
		for _, t := range sub.Tags {
			tagIDs, tagSlugs = append(tagIDs, sub.ID), append(tagSlugs, t)
		}
	}
	if len(nlNames) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) ON CONFLICT DO NOTHING`, nlNames, nlIDs, nlAt); err != nil {
			return fmt.Errorf("postgres: import: %w", err)
		}
	}
	if len(tagIDs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO subscriber_tags (subscriber_id, tag_slug)
			SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING`, tagIDs, tagSlugs); err != nil {
			return fmt.Errorf("postgres: import: %w", err)
		}
	}
	return nil
}
