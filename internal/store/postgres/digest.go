package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/jackc/pgx/v5"
)

// The digest store (docs/ARCHITECTURE.md, "Digest runs" and "Leases and
// slots"): runs, their articles and variants, and the delivery queue,
// with the SQLite store's semantics for several instances at once. Its
// methods satisfy digest.Store.

var _ digest.Store = (*Store)(nil)

// fromMicrosPtr is the zero time for NULL.
func fromMicrosPtr(v *int64) time.Time {
	if v == nil {
		return time.Time{}
	}
	return fromMicros(*v)
}

// planLock is the advisory lock namespace of planning: one newsletter is
// planned by one transaction at a time, so two instances reaching a slot
// together read the same state and carry each article once.
const planLock = "herald-plan:"

// NewsletterState returns what the newsletter remembers between runs.
func (s *Store) NewsletterState(ctx context.Context, newsletter string) (digest.State, bool, error) {
	return newsletterState(ctx, s.pool, newsletter)
}

func newsletterState(ctx context.Context, q queryer, newsletter string) (digest.State, bool, error) {
	var st digest.State
	var horizon, first int64
	var lastAt *int64
	err := q.QueryRow(ctx, `SELECT horizon, first_run_at, last_slot, last_slot_at FROM newsletter_state WHERE newsletter = $1`, newsletter).
		Scan(&horizon, &first, &st.LastSlot, &lastAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("postgres: newsletter %s state: %w", newsletter, err)
	}
	st.Horizon, st.FirstRunAt, st.LastSlotAt = fromMicros(horizon), fromMicros(first), fromMicrosPtr(lastAt)
	return st, true, nil
}

// SelectArticles returns what a run at sel.SlotAt would carry.
func (s *Store) SelectArticles(ctx context.Context, sel digest.Selection) ([]article.Article, error) {
	st, ok, err := newsletterState(ctx, s.pool, sel.Newsletter)
	if err != nil {
		return nil, err
	}
	horizon := sel.Horizon(st, ok)
	return selectArticles(ctx, s.pool, sel, horizon)
}

// selectArticles: matching tags, published at or before the slot and after
// the horizon, not draft or removed, not gone out in this newsletter; the
// newest max_articles.
func selectArticles(ctx context.Context, q queryer, sel digest.Selection, horizon time.Time) ([]article.Article, error) {
	query := `SELECT ` + prefixCols("a") + ` FROM articles a
		WHERE NOT a.draft AND NOT a.removed AND a.published <= $1 AND a.published > $2
		AND NOT EXISTS (SELECT 1 FROM newsletter_articles na WHERE na.newsletter = $3 AND na.article_id = a.id)`
	args := []any{micros(sel.SlotAt), micros(horizon), sel.Newsletter}
	if len(sel.Tags) > 0 {
		args = append(args, sel.Tags)
		query += ` AND a.id IN (SELECT at.article_id FROM article_tags at JOIN tags t ON t.id = at.tag_id
			WHERE t.slug = ANY($4))`
	}
	query += ` ORDER BY a.published DESC, a.id DESC`
	if sel.MaxArticles > 0 {
		args = append(args, sel.MaxArticles)
		query += ` LIMIT $` + strconv.Itoa(len(args))
	}
	return digestArticles(ctx, q, query, args...)
}

// digestArticles runs an articles query (articleCols, prefixed a) and adds each
// article's tags in order.
func digestArticles(ctx context.Context, q queryer, query string, args ...any) ([]article.Article, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: articles: %w", err)
	}
	var out []article.Article
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: articles: %w", err)
		}
		out = append(out, *a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: articles: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	byID := make(map[int64]*article.Article, len(out))
	ids := make([]int64, len(out))
	for i := range out {
		byID[out[i].ID] = &out[i]
		ids[i] = out[i].ID
	}
	rows, err = q.Query(ctx, `SELECT at.article_id, t.name, t.slug FROM article_tags at JOIN tags t ON t.id = at.tag_id
		WHERE at.article_id = ANY($1) ORDER BY at.article_id, at.position`, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var t article.Tag
		if err := rows.Scan(&id, &t.Name, &t.Slug); err != nil {
			return nil, fmt.Errorf("postgres: tags: %w", err)
		}
		if a := byID[id]; a != nil {
			a.Tags = append(a.Tags, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: tags: %w", err)
	}
	return out, nil
}

// PlanRun plans a run in one transaction (see digest.PlanStore).
func (s *Store) PlanRun(ctx context.Context, req digest.PlanRequest, compose digest.ComposeFunc) (*digest.Run, error) {
	var run *digest.Run
	var composeErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		composeErr = nil
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, planLock+req.Newsletter); err != nil {
			return fmt.Errorf("postgres: plan %s: %w", req.Newsletter, err)
		}
		st, ok, err := newsletterState(ctx, tx, req.Newsletter)
		if err != nil {
			return err
		}
		horizon := req.Horizon(st, ok)
		arts, err := selectArticles(ctx, tx, req.Selection, horizon)
		if err != nil {
			return err
		}
		now := micros(req.Now)
		status := digest.RunPlanned
		if len(arts) == 0 && !req.SendIfEmpty {
			status = digest.RunSkipped
		}
		if req.Kind == digest.KindTest {
			status = digest.RunDone
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO digest_runs (newsletter, slot, slot_at, kind, status, articles, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (newsletter, slot) DO NOTHING RETURNING id`,
			req.Newsletter, req.Slot, micros(req.SlotAt), string(req.Kind), string(status), len(arts), now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return digest.AlreadyPlanned(req.Newsletter, req.Slot)
		}
		if err != nil {
			return fmt.Errorf("postgres: plan %s %s: %w", req.Newsletter, req.Slot, err)
		}
		run = &digest.Run{ID: id, Newsletter: req.Newsletter, Slot: req.Slot, SlotAt: req.SlotAt.UTC(), Kind: req.Kind,
			Status: status, Articles: len(arts), CreatedAt: fromMicros(now)}
		if status == digest.RunSkipped {
			// Nothing is composed or sent; the slot still counts.
			return advanceState(ctx, tx, req, ok, horizon)
		}
		ids := make([]int64, len(arts))
		for i, a := range arts {
			ids[i] = a.ID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO digest_run_articles (run_id, article_id, position)
			SELECT $1, a.id, a.pos - 1 FROM unnest($2::bigint[]) WITH ORDINALITY AS a (id, pos)`, id, ids); err != nil {
			return fmt.Errorf("postgres: run articles: %w", err)
		}
		if req.Kind != digest.KindTest {
			if _, err := tx.Exec(ctx, `INSERT INTO newsletter_articles (newsletter, article_id, run_id)
				SELECT $1, a.id, $3 FROM unnest($2::bigint[]) AS a (id)`, req.Newsletter, ids, id); err != nil {
				return fmt.Errorf("postgres: newsletter articles: %w", err)
			}
		}
		vs, err := compose(run, arts)
		if err != nil {
			// The run fails as a whole: recorded failed so its slot is not
			// planned again, its articles left for the next run, and no
			// deliveries.
			composeErr = err
			run.Status = digest.RunFailed
			run.Failure = err.Error()
			if _, err := tx.Exec(ctx, `UPDATE digest_runs SET status = 'failed', finished_at = $1, failure = $2 WHERE id = $3`, now, run.Failure, id); err != nil {
				return fmt.Errorf("postgres: fail run: %w", err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM newsletter_articles WHERE run_id = $1`, id); err != nil {
				return fmt.Errorf("postgres: fail run: %w", err)
			}
			return advanceState(ctx, tx, req, ok, horizon)
		}
		for _, v := range vs {
			if v.Key == digest.VariantAll {
				run.Subject = v.Subject
			}
			if _, err := tx.Exec(ctx, `INSERT INTO digest_variants (run_id, key, subject, html, text) VALUES ($1, $2, $3, $4, $5)`,
				id, v.Key, v.Subject, v.HTML, v.Text); err != nil {
				return fmt.Errorf("postgres: variant %s: %w", v.Key, err)
			}
		}
		if req.Kind == digest.KindTest {
			if _, err := tx.Exec(ctx, `UPDATE digest_runs SET subject = $1, finished_at = $2 WHERE id = $3`, run.Subject, now, id); err != nil {
				return fmt.Errorf("postgres: plan: %w", err)
			}
			return nil
		}
		// One statement for every recipient: a million rows stay one
		// round trip.
		tag, err := tx.Exec(ctx, `INSERT INTO digest_deliveries (run_id, subscriber_id)
			SELECT $1, s.id FROM subscriptions sub JOIN subscribers s ON s.id = sub.subscriber_id
			WHERE sub.newsletter = $2 AND s.status = 'active' ORDER BY s.id`, id, req.Newsletter)
		if err != nil {
			return fmt.Errorf("postgres: plan deliveries: %w", err)
		}
		n := tag.RowsAffected()
		run.Recipients = int(n)
		if _, err := tx.Exec(ctx, `UPDATE digest_runs SET subject = $1, recipients = $2 WHERE id = $3`, run.Subject, n, id); err != nil {
			return fmt.Errorf("postgres: plan: %w", err)
		}
		return advanceState(ctx, tx, req, ok, horizon)
	})
	if err != nil {
		return nil, err
	}
	if composeErr != nil {
		return run, digest.ComposeFailed(run.ID, req.Newsletter, composeErr)
	}
	return run, nil
}

// advanceState fixes the horizon at the first run and remembers the latest
// scheduled slot. Test runs change nothing.
func advanceState(ctx context.Context, tx pgx.Tx, req digest.PlanRequest, exists bool, horizon time.Time) error {
	if req.Kind == digest.KindTest {
		return nil
	}
	if !exists {
		if _, err := tx.Exec(ctx, `INSERT INTO newsletter_state (newsletter, horizon, first_run_at) VALUES ($1, $2, $3)`,
			req.Newsletter, micros(horizon), micros(req.SlotAt)); err != nil {
			return fmt.Errorf("postgres: newsletter state: %w", err)
		}
	}
	if req.Kind == digest.KindScheduled {
		if _, err := tx.Exec(ctx, `UPDATE newsletter_state SET last_slot = $1, last_slot_at = $2
			WHERE newsletter = $3 AND (last_slot_at IS NULL OR last_slot_at < $2)`,
			req.Slot, micros(req.SlotAt), req.Newsletter); err != nil {
			return fmt.Errorf("postgres: newsletter state: %w", err)
		}
	}
	return nil
}

const runCols = `id, newsletter, slot, slot_at, kind, status, subject, articles, recipients, created_at, started_at, finished_at, failure`

func scanRun(sc pgx.Row) (*digest.Run, error) {
	var r digest.Run
	var slotAt, created int64
	var started, finished *int64
	var kind, status string
	if err := sc.Scan(&r.ID, &r.Newsletter, &r.Slot, &slotAt, &kind, &status, &r.Subject, &r.Articles, &r.Recipients,
		&created, &started, &finished, &r.Failure); err != nil {
		return nil, err
	}
	r.Kind, r.Status = digest.Kind(kind), digest.RunStatus(status)
	r.SlotAt, r.CreatedAt = fromMicros(slotAt), fromMicros(created)
	r.StartedAt, r.FinishedAt = fromMicrosPtr(started), fromMicrosPtr(finished)
	return &r, nil
}

func (s *Store) listRuns(ctx context.Context, query string, args ...any) ([]digest.Run, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: runs: %w", err)
	}
	defer rows.Close()
	var out []digest.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: runs: %w", err)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: runs: %w", err)
	}
	return out, nil
}

// ActiveRuns lists planned and sending runs, oldest first.
func (s *Store) ActiveRuns(ctx context.Context) ([]digest.Run, error) {
	return s.listRuns(ctx, `SELECT `+runCols+` FROM digest_runs WHERE status IN ('planned', 'sending') ORDER BY id`)
}

// GetRun returns one run.
func (s *Store) GetRun(ctx context.Context, runID int64) (*digest.Run, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runCols+` FROM digest_runs WHERE id = $1`, runID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, digest.RunNotFound(runID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: run %d: %w", runID, err)
	}
	return r, nil
}

// ListRuns lists runs newest first.
func (s *Store) ListRuns(ctx context.Context, newsletter string, sentOnly bool, limit int) ([]digest.Run, error) {
	var where []string
	var args []any
	if newsletter != "" {
		args = append(args, newsletter)
		where = append(where, "newsletter = $1")
	}
	if sentOnly {
		where = append(where, "kind IN ('scheduled', 'manual') AND status IN ('sending', 'paused', 'done')")
	}
	q := `SELECT ` + runCols + ` FROM digest_runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY slot_at DESC, id DESC`
	if limit > 0 {
		args = append(args, limit)
		q += ` LIMIT $` + strconv.Itoa(len(args))
	}
	return s.listRuns(ctx, q, args...)
}

// RunCounts counts a run's deliveries by status: the rows stored plus the
// counts kept of rows deleted since (retention, erasure), in one snapshot.
func (s *Store) RunCounts(ctx context.Context, runID int64) (digest.Counts, error) {
	var c digest.Counts
	rows, err := s.pool.Query(ctx, `SELECT r.sent_count, r.failed_count, r.skipped_count, COALESCE(d.status, ''), COUNT(d.status)
		FROM digest_runs r LEFT JOIN digest_deliveries d ON d.run_id = r.id WHERE r.id = $1
		GROUP BY r.sent_count, r.failed_count, r.skipped_count, d.status`, runID)
	if err != nil {
		return c, fmt.Errorf("postgres: run counts: %w", err)
	}
	defer rows.Close()
	var kept digest.Counts
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&kept.Sent, &kept.Failed, &kept.Skipped, &st, &n); err != nil {
			return c, fmt.Errorf("postgres: run counts: %w", err)
		}
		switch digest.DeliveryStatus(st) {
		case digest.DeliveryPending:
			c.Pending = n
		case digest.DeliverySending:
			c.Sending = n
		case digest.DeliverySent:
			c.Sent = n
		case digest.DeliveryFailed:
			c.Failed = n
		case digest.DeliverySkipped:
			c.Skipped = n
		case digest.DeliveryBounced:
			c.Bounced = n
		}
		c.Planned += n
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("postgres: run counts: %w", err)
	}
	c.Sent += kept.Sent
	c.Failed += kept.Failed
	c.Skipped += kept.Skipped
	c.Planned += kept.Sent + kept.Failed + kept.Skipped
	return c, nil
}

const deliveryRowQuery = `SELECT d.subscriber_id, COALESCE(s.email, ''), d.status, d.attempts, d.reply, d.message_id, d.sent_at
	FROM digest_deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id`

func scanDeliveryRow(rows pgx.Rows) (digest.DeliveryRow, error) {
	var d digest.DeliveryRow
	var st string
	var sent *int64
	if err := rows.Scan(&d.SubscriberID, &d.Email, &st, &d.Attempts, &d.Reply, &d.MessageID, &sent); err != nil {
		return d, err
	}
	d.Status, d.SentAt = digest.DeliveryStatus(st), fromMicrosPtr(sent)
	return d, nil
}

// Deliveries streams a run's deliveries by subscriber id.
func (s *Store) Deliveries(ctx context.Context, runID int64, fn func(digest.DeliveryRow) error) error {
	rows, err := s.pool.Query(ctx, deliveryRowQuery+` WHERE d.run_id = $1 ORDER BY d.subscriber_id`, runID)
	if err != nil {
		return fmt.Errorf("postgres: deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDeliveryRow(rows)
		if err != nil {
			return fmt.Errorf("postgres: deliveries: %w", err)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: deliveries: %w", err)
	}
	return nil
}

// StartRun marks a planned run sending.
func (s *Store) StartRun(ctx context.Context, runID int64, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE digest_runs SET status = 'sending', started_at = $1 WHERE id = $2 AND status = 'planned'`,
		micros(now), runID); err != nil {
		return fmt.Errorf("postgres: start run %d: %w", runID, err)
	}
	return nil
}

// ClaimDeliveries leases up to n due deliveries (see digest.DeliveryStore).
// Rows another worker holds locked are skipped, not waited for; the claim
// share-locks the run row, so a pause or cancel either lands before it
// (and it claims nothing) or waits for it (and settles what it claimed).
func (s *Store) ClaimDeliveries(ctx context.Context, runID int64, newsletter string, n int, now time.Time, lease time.Duration) ([]digest.Claim, error) {
	var out []digest.Claim
	until := now.Add(lease)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		// Crash recovery: a lease that ran out returns its row to pending.
		// The picks are MATERIALIZED CTEs: a LIMIT … SKIP LOCKED subquery
		// the planner re-ran per outer row could pick more than n rows.
		if _, err := tx.Exec(ctx, `WITH pick AS MATERIALIZED (SELECT subscriber_id FROM digest_deliveries
				WHERE run_id = $1 AND status = 'sending' AND lease_until < $2 FOR UPDATE SKIP LOCKED)
			UPDATE digest_deliveries d SET status = 'pending', lease_until = 0 FROM pick
			WHERE d.run_id = $1 AND d.subscriber_id = pick.subscriber_id`, runID, micros(now)); err != nil {
			return fmt.Errorf("postgres: expire leases: %w", err)
		}
		rows, err := tx.Query(ctx, `WITH run AS MATERIALIZED (
				SELECT id FROM digest_runs WHERE id = $2 AND status IN ('planned', 'sending') FOR SHARE),
			pick AS MATERIALIZED (SELECT p.subscriber_id FROM digest_deliveries p
				WHERE p.run_id = (SELECT id FROM run) AND p.status = 'pending' AND p.next_attempt <= $3
				ORDER BY p.next_attempt, p.subscriber_id LIMIT $4 FOR UPDATE SKIP LOCKED)
			UPDATE digest_deliveries d SET status = 'sending', lease_until = $1, attempts = d.attempts + 1 FROM pick
			WHERE d.run_id = $2 AND d.subscriber_id = pick.subscriber_id
			RETURNING d.subscriber_id, d.attempts`, micros(until), runID, micros(now), n)
		if err != nil {
			return fmt.Errorf("postgres: claim: %w", err)
		}
		for rows.Next() {
			var c digest.Claim
			if err := rows.Scan(&c.SubscriberID, &c.Attempts); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: claim: %w", err)
			}
			c.LeaseUntil = until
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: claim: %w", err)
		}
		if len(out) == 0 {
			return nil
		}
		// RETURNING has no order; workers send in subscriber order.
		slices.SortFunc(out, func(a, b digest.Claim) int { return cmp.Compare(a.SubscriberID, b.SubscriberID) })
		return fillClaims(ctx, tx, runID, newsletter, now, &out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fillClaims adds each claimed subscriber's address, name and topic tags,
// and settles as skipped those no longer active and subscribed.
func fillClaims(ctx context.Context, tx pgx.Tx, runID int64, newsletter string, now time.Time, claims *[]digest.Claim) error {
	cs := *claims
	byID := make(map[int64]int, len(cs))
	ids := make([]int64, len(cs))
	reason := make(map[int64]string, len(cs))
	for i, c := range cs {
		byID[c.SubscriberID] = i
		ids[i] = c.SubscriberID
		reason[c.SubscriberID] = "subscriber erased"
	}
	rows, err := tx.Query(ctx, `SELECT s.id, s.email, s.name, s.status, s.link_secret, s.language,
			EXISTS (SELECT 1 FROM subscriptions sub WHERE sub.newsletter = $1 AND sub.subscriber_id = s.id)
		FROM subscribers s WHERE s.id = ANY($2)`, newsletter, ids)
	if err != nil {
		return fmt.Errorf("postgres: claim subscribers: %w", err)
	}
	for rows.Next() {
		var id int64
		var email, name, status, language string
		var secret []byte
		var subscribed bool
		if err := rows.Scan(&id, &email, &name, &status, &secret, &language, &subscribed); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: claim subscribers: %w", err)
		}
		i := byID[id]
		cs[i].Email, cs[i].Name, cs[i].LinkSecret, cs[i].Language = email, name, secret, language
		switch {
		case status != "active":
			reason[id] = "subscriber " + status
		case !subscribed:
			reason[id] = "unsubscribed from " + newsletter
		default:
			delete(reason, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: claim subscribers: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT subscriber_id, tag_slug FROM subscriber_tags WHERE subscriber_id = ANY($1) ORDER BY subscriber_id, tag_slug`, ids)
	if err != nil {
		return fmt.Errorf("postgres: claim tags: %w", err)
	}
	for rows.Next() {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: claim tags: %w", err)
		}
		i := byID[id]
		cs[i].Tags = append(cs[i].Tags, tag)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: claim tags: %w", err)
	}
	if len(reason) == 0 {
		return nil
	}
	kept := cs[:0]
	for _, c := range cs {
		why, skip := reason[c.SubscriberID]
		if !skip {
			kept = append(kept, c)
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE digest_deliveries SET status = 'skipped', reply = $1, lease_until = 0, sent_at = $2
			WHERE run_id = $3 AND subscriber_id = $4`, why, micros(now), runID, c.SubscriberID); err != nil {
			return fmt.Errorf("postgres: skip delivery: %w", err)
		}
	}
	*claims = kept
	return nil
}

// RecordOutcomes stores outcomes in one transaction, sent as one batch. A
// retry or a release applies only while the claim's lease still holds the
// row: every claim writes a later lease_until than the one before (a row
// is claimed again only after its lease ran out), so the lease is the
// claim's attempt-fencing token and a stale worker's write matches
// nothing. A row already sent (by another process whose lease overlapped)
// is never downgraded.
func (s *Store) RecordOutcomes(ctx context.Context, runID int64, outs []digest.Outcome) error {
	if len(outs) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, o := range outs {
			switch {
			case o.Status == digest.DeliveryPending && o.Release:
				b.Queue(`UPDATE digest_deliveries SET status = 'pending', lease_until = 0,
					attempts = GREATEST(attempts - 1, 0) WHERE run_id = $1 AND subscriber_id = $2 AND status = 'sending' AND lease_until = $3`,
					runID, o.SubscriberID, micros(o.Lease))
			case o.Status == digest.DeliveryPending:
				b.Queue(`UPDATE digest_deliveries SET status = 'pending', lease_until = 0, next_attempt = $1, reply = $2
					WHERE run_id = $3 AND subscriber_id = $4 AND status = 'sending' AND lease_until = $5`,
					micros(o.NextAttempt), o.Reply, runID, o.SubscriberID, micros(o.Lease))
			default:
				b.Queue(`UPDATE digest_deliveries SET status = $1, lease_until = 0, reply = $2, message_id = $3, sent_at = $4
					WHERE run_id = $5 AND subscriber_id = $6 AND status <> 'sent'`,
					string(o.Status), o.Reply, o.MessageID, micros(o.At), runID, o.SubscriberID)
			}
			if o.Bounce == digest.BounceSoft {
				b.Queue(`UPDATE subscribers SET soft_failures = soft_failures + 1, updated_at = $1 WHERE id = $2`, micros(o.At), o.SubscriberID)
			}
		}
		br := tx.SendBatch(ctx, &b)
		for range b.Len() {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return fmt.Errorf("postgres: record outcomes of run %d: %w", runID, err)
			}
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("postgres: record outcomes of run %d: %w", runID, err)
		}
		// Hard bounces are rare: each takes a round trip so the rule
		// itself stays in Go, shared with every backend.
		for _, o := range outs {
			if err := recordHardBounce(ctx, tx, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// recordHardBounce applies the bounce rule (digest.Bounce.Bounces) to a
// 5xx: it adds a hard failure, and an unknown mailbox or the third hard
// failure marks an active subscriber bounced.
func recordHardBounce(ctx context.Context, tx pgx.Tx, o digest.Outcome) error {
	if o.Bounce != digest.BounceHard && o.Bounce != digest.BounceUnknownUser {
		return nil
	}
	var hard int
	var status string
	err := tx.QueryRow(ctx, `UPDATE subscribers SET hard_failures = hard_failures + 1, updated_at = $1
		WHERE id = $2 RETURNING hard_failures, status`, micros(o.At), o.SubscriberID).Scan(&hard, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // erased meanwhile
	}
	if err == nil && status == string(subscribe.StatusActive) && o.Bounce.Bounces(hard) {
		_, err = tx.Exec(ctx, `UPDATE subscribers SET status = $1 WHERE id = $2`, string(subscribe.StatusBounced), o.SubscriberID)
	}
	if err != nil {
		return fmt.Errorf("postgres: bounce %d: %w", o.SubscriberID, err)
	}
	return nil
}

// NextDue is when a delivery of the run may next become claimable.
func (s *Store) NextDue(ctx context.Context, runID int64) (time.Time, bool, error) {
	var pend, lease *int64
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT MIN(next_attempt) FROM digest_deliveries WHERE run_id = $1 AND status = 'pending'),
		(SELECT MIN(lease_until) FROM digest_deliveries WHERE run_id = $1 AND status = 'sending')`, runID).Scan(&pend, &lease)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: next due: %w", err)
	}
	switch {
	case pend != nil && lease != nil:
		return fromMicros(min(*pend, *lease)), true, nil
	case pend != nil:
		return fromMicros(*pend), true, nil
	case lease != nil:
		return fromMicros(*lease), true, nil
	}
	return time.Time{}, false, nil
}

// FinishRun marks the run done once nothing is pending or leased.
func (s *Store) FinishRun(ctx context.Context, runID int64, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE digest_runs SET status = 'done', finished_at = $1
		WHERE id = $2 AND status IN ('planned', 'sending')
		AND NOT EXISTS (SELECT 1 FROM digest_deliveries WHERE run_id = $2 AND status = 'pending')
		AND NOT EXISTS (SELECT 1 FROM digest_deliveries WHERE run_id = $2 AND status = 'sending')`, micros(now), runID)
	if err != nil {
		return false, fmt.Errorf("postgres: finish run %d: %w", runID, err)
	}
	return tag.RowsAffected() > 0, nil
}

// FailRun marks an unfinished run failed (see digest.DeliveryStore): its
// open deliveries are settled skipped with the reason, and its articles
// are released to the next run, all in one transaction.
func (s *Store) FailRun(ctx context.Context, runID int64, now time.Time, reason string) (bool, error) {
	var failed bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		failed = false
		tag, err := tx.Exec(ctx, `UPDATE digest_runs SET status = 'failed', finished_at = $1, failure = $2
			WHERE id = $3 AND status IN ('planned', 'sending', 'paused')`, micros(now), reason, runID)
		if err != nil {
			return fmt.Errorf("postgres: fail run %d: %w", runID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		failed = true
		if _, err := tx.Exec(ctx, `UPDATE digest_deliveries SET status = 'skipped', reply = $1, lease_until = 0, sent_at = $2
			WHERE run_id = $3 AND status IN ('pending', 'sending')`, "run failed: "+reason, micros(now), runID); err != nil {
			return fmt.Errorf("postgres: fail run %d: %w", runID, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM newsletter_articles WHERE run_id = $1`, runID); err != nil {
			return fmt.Errorf("postgres: fail run %d: %w", runID, err)
		}
		return nil
	})
	return failed, err
}

// Variant returns a stored variant.
func (s *Store) Variant(ctx context.Context, runID int64, key string) (*digest.Variant, bool, error) {
	return variant(ctx, s.pool, runID, key)
}

func variant(ctx context.Context, q queryer, runID int64, key string) (*digest.Variant, bool, error) {
	v := digest.Variant{Key: key}
	err := q.QueryRow(ctx, `SELECT subject, html, text FROM digest_variants WHERE run_id = $1 AND key = $2`, runID, key).
		Scan(&v.Subject, &v.HTML, &v.Text)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("postgres: variant %d/%s: %w", runID, key, err)
	}
	return &v, true, nil
}

// PutVariant keeps v unless its key exists, and returns the kept one.
func (s *Store) PutVariant(ctx context.Context, runID int64, v digest.Variant) (*digest.Variant, error) {
	var out *digest.Variant
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO digest_variants (run_id, key, subject, html, text) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (run_id, key) DO NOTHING`, runID, v.Key, v.Subject, v.HTML, v.Text); err != nil {
			return fmt.Errorf("postgres: put variant: %w", err)
		}
		var err error
		out, _, err = variant(ctx, tx, runID, v.Key)
		return err
	})
	return out, err
}

// RunArticles returns the run's articles in order, with tags.
func (s *Store) RunArticles(ctx context.Context, runID int64) ([]article.Article, error) {
	return digestArticles(ctx, s.pool, `SELECT `+prefixCols("a")+` FROM digest_run_articles ra JOIN articles a ON a.id = ra.article_id
		WHERE ra.run_id = $1 ORDER BY ra.position`, runID)
}

// LookupSubscriber finds a subscriber by address (ignoring case, as the
// unique index does), with topic tags.
func (s *Store) LookupSubscriber(ctx context.Context, email string) (digest.Claim, bool, error) {
	var c digest.Claim
	err := s.pool.QueryRow(ctx, `SELECT id, email, name, link_secret FROM subscribers WHERE lower(email) = lower($1)`, strings.TrimSpace(email)).
		Scan(&c.SubscriberID, &c.Email, &c.Name, &c.LinkSecret)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("postgres: subscriber: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT tag_slug FROM subscriber_tags WHERE subscriber_id = $1 ORDER BY tag_slug`, c.SubscriberID)
	if err != nil {
		return c, false, fmt.Errorf("postgres: subscriber tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return c, false, fmt.Errorf("postgres: subscriber tags: %w", err)
		}
		c.Tags = append(c.Tags, t)
	}
	if err := rows.Err(); err != nil {
		return c, false, fmt.Errorf("postgres: subscriber tags: %w", err)
	}
	return c, true, nil
}
