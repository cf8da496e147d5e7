package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/subscribe"
	"github.com/jackc/pgx/v5"
)

// The admin dashboard's and subscriber search's side of the store
// (docs/ARCHITECTURE.md, "Dashboard").

// leave deletes subscriber id's subscription to newsletter ("": every
// one) and records an unsubscribe for each newsletter it left.
func leave(ctx context.Context, tx pgx.Tx, id int64, newsletter string, now time.Time) error {
	rows, err := tx.Query(ctx, `DELETE FROM subscriptions WHERE subscriber_id = $1 AND ($2 = '' OR newsletter = $2) RETURNING newsletter`, id, newsletter)
	if err != nil {
		return err
	}
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	return recordUnsubscribes(ctx, tx, left, now)
}

// recordUnsubscribes notes that one subscriber left each of newsletters.
func recordUnsubscribes(ctx context.Context, tx pgx.Tx, newsletters []string, now time.Time) error {
	if len(newsletters) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO unsubscribes (newsletter, at) SELECT nl, $2::bigint FROM unnest($1::text[]) AS nl`,
		newsletters, micros(now)); err != nil {
		return fmt.Errorf("unsubscribes: %w", err)
	}
	return nil
}

// refoldBatch is how many rows one refold transaction folds.
const refoldBatch = 5000

// refold fills the search column of rows not folded yet (new rows, and
// rows whose address or name changed since), before a search on f.Query
// reads it; the fold is Go's (subscribe.SearchKey). A row changed while
// it is being folded keeps NULL and is folded next time.
func (s *Store) refold(ctx context.Context, f subscribe.Filter) error {
	if f.Query == "" {
		return nil
	}
	for {
		var ids []int64
		var emails, names, keys []string
		rows, err := s.pool.Query(ctx, `SELECT id, email, name FROM subscribers WHERE search IS NULL LIMIT $1`, refoldBatch)
		if err != nil {
			return fmt.Errorf("postgres: search: %w", err)
		}
		for rows.Next() {
			var id int64
			var e, n string
			if err := rows.Scan(&id, &e, &n); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: search: %w", err)
			}
			ids, emails, names, keys = append(ids, id), append(emails, e), append(names, n), append(keys, subscribe.SearchKey(e, n))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: search: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := s.pool.Exec(ctx, `UPDATE subscribers s SET search = v.key
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS v(id, email, name, key)
			WHERE s.id = v.id AND s.search IS NULL AND s.email = v.email AND s.name = v.name`, ids, emails, names, keys); err != nil {
			return fmt.Errorf("postgres: search: %w", err)
		}
		if len(ids) < refoldBatch {
			return nil
		}
	}
}

// SearchSubscribers pages through subscribers matching f (f.Query: a
// folded substring of the address or name), by id after afterID, at most
// limit (0: all), with their newsletters and tags.
func (s *Store) SearchSubscribers(ctx context.Context, f subscribe.Filter, afterID int64, limit int) ([]*subscribe.Subscriber, error) {
	if err := s.refold(ctx, f); err != nil {
		return nil, err
	}
	args := []any{afterID}
	conds := []string{"id > $1"}
	fc, args := filterConds(f, args)
	conds = append(conds, fc...)
	q := `SELECT ` + subscriberCols + ` FROM subscribers WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY id`
	if limit > 0 {
		args = append(args, limit)
		q += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	return s.querySubscribers(ctx, q, args...)
}

// CountSubscribers is how many subscribers match f.
func (s *Store) CountSubscribers(ctx context.Context, f subscribe.Filter) (int, error) {
	if err := s.refold(ctx, f); err != nil {
		return 0, err
	}
	q, args := countQuery(f)
	var n int
	if err := s.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count subscribers: %w", err)
	}
	return n, nil
}

// countQuery counts the subscribers matching f. A topic or newsletter
// filter alone is counted in its own index, without probing subscribers
// once per row: every row there has its subscriber (foreign key,
// cascading delete).
func countQuery(f subscribe.Filter) (string, []any) {
	if f.Status == "" && f.Query == "" && (f.Tag != "" || f.Newsletter != "") {
		if f.Tag == "" {
			return `SELECT count(*) FROM subscriptions WHERE newsletter = $1`, []any{f.Newsletter}
		}
		q, args := `SELECT count(*) FROM subscriber_tags t WHERE t.tag_slug = $1`, []any{f.Tag}
		if f.Newsletter != "" {
			q += ` AND EXISTS (SELECT 1 FROM subscriptions WHERE newsletter = $2 AND subscriber_id = t.subscriber_id)`
			args = append(args, f.Newsletter)
		}
		return q, args
	}
	conds, args := filterConds(f, nil)
	q := `SELECT count(*) FROM subscribers`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	return q, args
}

// SubscribersExist reports, for each address, whether a subscriber has
// it, ignoring case.
func (s *Store) SubscribersExist(ctx context.Context, emails []string) ([]bool, error) {
	lower := make([]string, len(emails))
	for i, e := range emails {
		lower[i] = strings.ToLower(e)
	}
	rows, err := s.pool.Query(ctx, `SELECT lower(email) FROM subscribers WHERE lower(email) = ANY($1::text[])`, lower)
	if err != nil {
		return nil, fmt.Errorf("postgres: subscribers exist: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: subscribers exist: %w", err)
	}
	have := make(map[string]bool, len(found))
	for _, e := range found {
		have[e] = true
	}
	out := make([]bool, len(emails))
	for i, e := range lower {
		out[i] = have[e]
	}
	return out, nil
}

// SubscriberTimelines returns every subscriber's status and timestamps,
// which the daily counts are back-filled from.
func (s *Store) SubscriberTimelines(ctx context.Context) ([]subscribe.Timeline, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, created_at, confirmed_at, unsubscribed_at, updated_at FROM subscribers`)
	if err != nil {
		return nil, fmt.Errorf("postgres: timelines: %w", err)
	}
	defer rows.Close()
	var out []subscribe.Timeline
	for rows.Next() {
		var tl subscribe.Timeline
		var created, updated int64
		var confirmed, unsub *int64
		if err := rows.Scan(&tl.Status, &created, &confirmed, &unsub, &updated); err != nil {
			return nil, fmt.Errorf("postgres: timelines: %w", err)
		}
		tl.CreatedAt, tl.ConfirmedAt, tl.UnsubscribedAt, tl.UpdatedAt = fromMicros(created), fromMicrosPtr(confirmed), fromMicrosPtr(unsub), fromMicros(updated)
		out = append(out, tl)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: timelines: %w", err)
	}
	return out, nil
}

// PutSubscriberCounts stores daily counts, replacing those of the same
// day and status.
func (s *Store) PutSubscriberCounts(ctx context.Context, counts []subscribe.DayCount) error {
	if len(counts) == 0 {
		return nil
	}
	days := make([]int64, len(counts))
	sts := make([]string, len(counts))
	ns := make([]int64, len(counts))
	for i, c := range counts {
		days[i], sts[i], ns[i] = micros(c.Day), string(c.Status), int64(c.Count)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO subscriber_counts (day, status, count)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])
		ON CONFLICT (day, status) DO UPDATE SET count = excluded.count`, days, sts, ns); err != nil {
		return fmt.Errorf("postgres: subscriber counts: %w", err)
	}
	return nil
}

// SubscriberCountHistory returns the stored daily counts from the day of
// since on, and the latest day's before it (what since starts from),
// oldest first; nothing when none is stored.
func (s *Store) SubscriberCountHistory(ctx context.Context, since time.Time) ([]subscribe.DayCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT day, status, count FROM subscriber_counts
		WHERE day >= COALESCE((SELECT max(day) FROM subscriber_counts WHERE day < $1), $1) ORDER BY day, status`, micros(since))
	if err != nil {
		return nil, fmt.Errorf("postgres: subscriber counts: %w", err)
	}
	defer rows.Close()
	var out []subscribe.DayCount
	for rows.Next() {
		var c subscribe.DayCount
		var day int64
		if err := rows.Scan(&day, &c.Status, &c.Count); err != nil {
			return nil, fmt.Errorf("postgres: subscriber counts: %w", err)
		}
		c.Day = fromMicros(day)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: subscriber counts: %w", err)
	}
	return out, nil
}

// UnsubscribeCount is how many times a subscriber left newsletter at or
// after from and before to.
func (s *Store) UnsubscribeCount(ctx context.Context, newsletter string, from, to time.Time) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM unsubscribes WHERE newsletter = $1 AND at >= $2 AND at < $3`,
		newsletter, micros(from), micros(to)).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: unsubscribes: %w", err)
	}
	return n, nil
}

// StuckDeliveries counts deliveries still sending whose lease ran out
// before before: no process is working on them.
func (s *Store) StuckDeliveries(ctx context.Context, before time.Time) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM digest_deliveries WHERE status = 'sending' AND lease_until < $1`,
		micros(before)).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: stuck deliveries: %w", err)
	}
	return n, nil
}
