package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/subscribe"
)

// The admin dashboard's and subscriber search's side of the store
// (docs/ARCHITECTURE.md, "Dashboard").

// leave deletes subscriber id's subscription to newsletter ("": every
// one) and records an unsubscribe for each newsletter it left.
func leave(ctx context.Context, tx *sql.Tx, id int64, newsletter string, now time.Time) error {
	q, args := `DELETE FROM subscriptions WHERE subscriber_id = ? RETURNING newsletter`, []any{id}
	if newsletter != "" {
		q, args = `DELETE FROM subscriptions WHERE subscriber_id = ? AND newsletter = ? RETURNING newsletter`, []any{id, newsletter}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	var left []string
	for rows.Next() {
		var nl string
		if err := rows.Scan(&nl); err != nil {
			rows.Close()
			return err
		}
		left = append(left, nl)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return recordUnsubscribes(ctx, tx, left, now)
}

// recordUnsubscribes notes that one subscriber left each of newsletters.
func recordUnsubscribes(ctx context.Context, tx *sql.Tx, newsletters []string, now time.Time) error {
	for _, nl := range newsletters {
		if _, err := tx.ExecContext(ctx, `INSERT INTO unsubscribes (newsletter, at) VALUES (?, ?)`, nl, micros(now)); err != nil {
			return fmt.Errorf("unsubscribes: %w", err)
		}
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
		var pending bool
		if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM subscribers WHERE search IS NULL)`).Scan(&pending); err != nil {
			return fmt.Errorf("sqlite: search: %w", err)
		}
		if !pending {
			return nil
		}
		n := 0
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id, email, name FROM subscribers WHERE search IS NULL LIMIT ?`, refoldBatch)
			if err != nil {
				return err
			}
			type row struct {
				id          int64
				email, name string
			}
			var todo []row
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.id, &r.email, &r.name); err != nil {
					rows.Close()
					return err
				}
				todo = append(todo, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			up, err := tx.PrepareContext(ctx, `UPDATE subscribers SET search = ? WHERE id = ? AND search IS NULL AND email = ? AND name = ?`)
			if err != nil {
				return err
			}
			defer up.Close()
			for _, r := range todo {
				if _, err := up.ExecContext(ctx, subscribe.SearchKey(r.email, r.name), r.id, r.email, r.name); err != nil {
					return err
				}
			}
			n = len(todo)
			return nil
		})
		if err != nil {
			return fmt.Errorf("sqlite: search: %w", err)
		}
		if n < refoldBatch {
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
	fc, fa := filterConds(f)
	conds := append([]string{"id > ?"}, fc...)
	args := append([]any{afterID}, fa...)
	q := `SELECT ` + subscriberCols + ` FROM subscribers WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY id`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	out, byID, err := s.querySubscribers(ctx, q, args...)
	if err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]any, len(out))
	for i, sub := range out {
		ids[i] = sub.ID
	}
	if err := loadSubscriptions(ctx, s.r, byID, `subscriber_id IN (`+placeholders(len(ids))+`)`, ids...); err != nil {
		return nil, err
	}
	return out, nil
}

// CountSubscribers is how many subscribers match f.
func (s *Store) CountSubscribers(ctx context.Context, f subscribe.Filter) (int, error) {
	if err := s.refold(ctx, f); err != nil {
		return 0, err
	}
	q, args := countQuery(f)
	var n int
	if err := s.r.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count subscribers: %w", err)
	}
	return n, nil
}

// countQuery counts the subscribers matching f. A topic or newsletter
// filter alone is counted in its own index, without reading subscribers:
// every row there has its subscriber (foreign key, cascading delete).
func countQuery(f subscribe.Filter) (string, []any) {
	if f.Status == "" && f.Query == "" && (f.Tag != "" || f.Newsletter != "") {
		if f.Tag == "" {
			return `SELECT COUNT(*) FROM subscriptions WHERE newsletter = ?`, []any{f.Newsletter}
		}
		q, args := `SELECT COUNT(*) FROM subscriber_tags t WHERE t.tag_slug = ?`, []any{f.Tag}
		if f.Newsletter != "" {
			q += ` AND EXISTS (SELECT 1 FROM subscriptions WHERE newsletter = ? AND subscriber_id = t.subscriber_id)`
			args = append(args, f.Newsletter)
		}
		return q, args
	}
	conds, args := filterConds(f)
	q := `SELECT COUNT(*) FROM subscribers`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	return q, args
}

// SubscribersExist reports, for each address, whether a subscriber has
// it, ignoring case.
func (s *Store) SubscribersExist(ctx context.Context, emails []string) ([]bool, error) {
	out := make([]bool, len(emails))
	const chunk = 500
	for i := 0; i < len(emails); i += chunk {
		part := emails[i:min(i+chunk, len(emails))]
		args := make([]any, len(part))
		for j, e := range part {
			args[j] = e
		}
		// email is COLLATE NOCASE: IN compares ignoring (ASCII) case, as
		// the unique index does.
		rows, err := s.r.QueryContext(ctx, `SELECT email FROM subscribers WHERE email IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: subscribers exist: %w", err)
		}
		have := map[string]bool{}
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: subscribers exist: %w", err)
			}
			have[strings.ToLower(e)] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: subscribers exist: %w", err)
		}
		for j, e := range part {
			out[i+j] = have[strings.ToLower(e)]
		}
	}
	return out, nil
}

// SubscriberTimelines returns every subscriber's status and timestamps,
// which the daily counts are back-filled from.
func (s *Store) SubscriberTimelines(ctx context.Context) ([]subscribe.Timeline, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, created_at, confirmed_at, unsubscribed_at, updated_at FROM subscribers`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: timelines: %w", err)
	}
	defer rows.Close()
	var out []subscribe.Timeline
	for rows.Next() {
		var tl subscribe.Timeline
		var created, updated int64
		var confirmed, unsub sql.NullInt64
		if err := rows.Scan(&tl.Status, &created, &confirmed, &unsub, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: timelines: %w", err)
		}
		tl.CreatedAt, tl.ConfirmedAt, tl.UnsubscribedAt, tl.UpdatedAt = fromMicros(created), fromNull(confirmed), fromNull(unsub), fromMicros(updated)
		out = append(out, tl)
	}
	return out, rows.Err()
}

// PutSubscriberCounts stores daily counts, replacing those of the same
// day and status.
func (s *Store) PutSubscriberCounts(ctx context.Context, counts []subscribe.DayCount) error {
	if len(counts) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ins := &multiInsert{ctx: ctx, tx: tx, cols: 3, max: 300, prefix: `INSERT INTO subscriber_counts (day, status, count)`,
			suffix: ` ON CONFLICT (day, status) DO UPDATE SET count = excluded.count`}
		for _, c := range counts {
			if err := ins.add(micros(c.Day), string(c.Status), c.Count); err != nil {
				return err
			}
		}
		return ins.flush()
	})
	if err != nil {
		return fmt.Errorf("sqlite: subscriber counts: %w", err)
	}
	return nil
}

// SubscriberCountHistory returns the stored daily counts from the day of
// since on, and the latest day's before it (what since starts from),
// oldest first; nothing when none is stored.
func (s *Store) SubscriberCountHistory(ctx context.Context, since time.Time) ([]subscribe.DayCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT day, status, count FROM subscriber_counts
		WHERE day >= COALESCE((SELECT MAX(day) FROM subscriber_counts WHERE day < ?), ?) ORDER BY day, status`, micros(since), micros(since))
	if err != nil {
		return nil, fmt.Errorf("sqlite: subscriber counts: %w", err)
	}
	defer rows.Close()
	var out []subscribe.DayCount
	for rows.Next() {
		var c subscribe.DayCount
		var day int64
		if err := rows.Scan(&day, &c.Status, &c.Count); err != nil {
			return nil, fmt.Errorf("sqlite: subscriber counts: %w", err)
		}
		c.Day = fromMicros(day)
		out = append(out, c)
	}
	return out, rows.Err()
}

// UnsubscribeCount is how many times a subscriber left newsletter at or
// after from and before to.
func (s *Store) UnsubscribeCount(ctx context.Context, newsletter string, from, to time.Time) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM unsubscribes WHERE newsletter = ? AND at >= ? AND at < ?`,
		newsletter, micros(from), micros(to)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: unsubscribes: %w", err)
	}
	return n, nil
}

// StuckDeliveries counts deliveries still sending whose lease ran out
// before before: no process is working on them.
func (s *Store) StuckDeliveries(ctx context.Context, before time.Time) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM digest_deliveries WHERE status = 'sending' AND lease_until < ?`,
		micros(before)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: stuck deliveries: %w", err)
	}
	return n, nil
}
