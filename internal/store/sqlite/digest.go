package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/subscribe"
)

// The digest store (docs/ARCHITECTURE.md, "Digest runs" and "Leases and
// slots"): runs, their articles and variants, and the delivery queue. Its
// methods satisfy digest.Store.

var _ digest.Store = (*Store)(nil)

// NewsletterState returns what the newsletter remembers between runs.
func (s *Store) NewsletterState(ctx context.Context, newsletter string) (digest.State, bool, error) {
	return newsletterState(ctx, s.r, newsletter)
}

func newsletterState(ctx context.Context, q queryer, newsletter string) (digest.State, bool, error) {
	var st digest.State
	var horizon, first int64
	var lastAt sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT horizon, first_run_at, last_slot, last_slot_at FROM newsletter_state WHERE newsletter = ?`, newsletter).
		Scan(&horizon, &first, &st.LastSlot, &lastAt)
	if errors.Is(err, sql.ErrNoRows) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("sqlite: newsletter %s state: %w", newsletter, err)
	}
	st.Horizon, st.FirstRunAt, st.LastSlotAt = fromMicros(horizon), fromMicros(first), fromNull(lastAt)
	return st, true, nil
}

// SelectArticles returns what a run at sel.SlotAt would carry.
func (s *Store) SelectArticles(ctx context.Context, sel digest.Selection) ([]article.Article, error) {
	st, ok, err := newsletterState(ctx, s.r, sel.Newsletter)
	if err != nil {
		return nil, err
	}
	horizon := sel.Horizon(st, ok)
	return selectArticles(ctx, s.r, sel, horizon)
}

// selectArticles: matching tags, published at or before the slot and after
// the horizon, not draft or removed, not gone out in this newsletter; the
// newest max_articles.
func selectArticles(ctx context.Context, q queryer, sel digest.Selection, horizon time.Time) ([]article.Article, error) {
	query := `SELECT ` + prefixCols("a") + ` FROM articles a
		WHERE a.draft = 0 AND a.removed = 0 AND a.published <= ? AND a.published > ?
		AND NOT EXISTS (SELECT 1 FROM newsletter_articles na WHERE na.newsletter = ? AND na.article_id = a.id)`
	args := []any{micros(sel.SlotAt), micros(horizon), sel.Newsletter}
	if len(sel.Tags) > 0 {
		query += ` AND a.id IN (SELECT at.article_id FROM article_tags at JOIN tags t ON t.id = at.tag_id
			WHERE t.slug IN (` + placeholders(len(sel.Tags)) + `))`
		for _, t := range sel.Tags {
			args = append(args, t)
		}
	}
	query += ` ORDER BY a.published DESC, a.id DESC`
	if sel.MaxArticles > 0 {
		query += ` LIMIT ?`
		args = append(args, sel.MaxArticles)
	}
	return queryArticles(ctx, q, query, args...)
}

// PlanRun plans a run in one transaction (see digest.PlanStore).
func (s *Store) PlanRun(ctx context.Context, req digest.PlanRequest, compose digest.ComposeFunc) (*digest.Run, error) {
	var run *digest.Run
	var composeErr error
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		composeErr = nil
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
		err = tx.QueryRowContext(ctx, `INSERT INTO digest_runs (newsletter, slot, slot_at, kind, status, articles, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (newsletter, slot) DO NOTHING RETURNING id`,
			req.Newsletter, req.Slot, micros(req.SlotAt), string(req.Kind), string(status), len(arts), now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return digest.AlreadyPlanned(req.Newsletter, req.Slot)
		}
		if err != nil {
			return fmt.Errorf("sqlite: plan %s %s: %w", req.Newsletter, req.Slot, err)
		}
		run = &digest.Run{ID: id, Newsletter: req.Newsletter, Slot: req.Slot, SlotAt: req.SlotAt.UTC(), Kind: req.Kind,
			Status: status, Articles: len(arts), CreatedAt: fromMicros(now)}
		if status == digest.RunSkipped {
			// Nothing is composed or sent; the slot still counts.
			return s.advanceState(ctx, tx, req, ok, horizon)
		}
		for i, a := range arts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO digest_run_articles (run_id, article_id, position) VALUES (?, ?, ?)`, id, a.ID, i); err != nil {
				return fmt.Errorf("sqlite: run articles: %w", err)
			}
			if req.Kind != digest.KindTest {
				if _, err := tx.ExecContext(ctx, `INSERT INTO newsletter_articles (newsletter, article_id, run_id) VALUES (?, ?, ?)`, req.Newsletter, a.ID, id); err != nil {
					return fmt.Errorf("sqlite: newsletter articles: %w", err)
				}
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
			if _, err := tx.ExecContext(ctx, `UPDATE digest_runs SET status = 'failed', finished_at = ?, failure = ? WHERE id = ?`, now, run.Failure, id); err != nil {
				return fmt.Errorf("sqlite: fail run: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM newsletter_articles WHERE run_id = ?`, id); err != nil {
				return fmt.Errorf("sqlite: fail run: %w", err)
			}
			return s.advanceState(ctx, tx, req, ok, horizon)
		}
		for _, v := range vs {
			if v.Key == digest.VariantAll {
				run.Subject = v.Subject
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO digest_variants (run_id, key, subject, html, text) VALUES (?, ?, ?, ?, ?)`,
				id, v.Key, v.Subject, v.HTML, v.Text); err != nil {
				return fmt.Errorf("sqlite: variant %s: %w", v.Key, err)
			}
		}
		if req.Kind == digest.KindTest {
			_, err := tx.ExecContext(ctx, `UPDATE digest_runs SET subject = ?, finished_at = ? WHERE id = ?`, run.Subject, now, id)
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO digest_deliveries (run_id, subscriber_id)
			SELECT ?, s.id FROM subscriptions sub JOIN subscribers s ON s.id = sub.subscriber_id
			WHERE sub.newsletter = ? AND s.status = 'active' ORDER BY s.id`, id, req.Newsletter)
		if err != nil {
			return fmt.Errorf("sqlite: plan deliveries: %w", err)
		}
		n, _ := res.RowsAffected()
		run.Recipients = int(n)
		if _, err := tx.ExecContext(ctx, `UPDATE digest_runs SET subject = ?, recipients = ? WHERE id = ?`, run.Subject, n, id); err != nil {
			return fmt.Errorf("sqlite: plan: %w", err)
		}
		return s.advanceState(ctx, tx, req, ok, horizon)
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
func (s *Store) advanceState(ctx context.Context, tx *sql.Tx, req digest.PlanRequest, exists bool, horizon time.Time) error {
	if req.Kind == digest.KindTest {
		return nil
	}
	if !exists {
		if _, err := tx.ExecContext(ctx, `INSERT INTO newsletter_state (newsletter, horizon, first_run_at) VALUES (?, ?, ?)`,
			req.Newsletter, micros(horizon), micros(req.SlotAt)); err != nil {
			return fmt.Errorf("sqlite: newsletter state: %w", err)
		}
	}
	if req.Kind == digest.KindScheduled {
		if _, err := tx.ExecContext(ctx, `UPDATE newsletter_state SET last_slot = ?, last_slot_at = ?
			WHERE newsletter = ? AND (last_slot_at IS NULL OR last_slot_at < ?)`,
			req.Slot, micros(req.SlotAt), req.Newsletter, micros(req.SlotAt)); err != nil {
			return fmt.Errorf("sqlite: newsletter state: %w", err)
		}
	}
	return nil
}

const runCols = `id, newsletter, slot, slot_at, kind, status, subject, articles, recipients, created_at, started_at, finished_at, failure`

func scanRun(sc interface{ Scan(...any) error }) (*digest.Run, error) {
	var r digest.Run
	var slotAt, created int64
	var started, finished sql.NullInt64
	var kind, status string
	if err := sc.Scan(&r.ID, &r.Newsletter, &r.Slot, &slotAt, &kind, &status, &r.Subject, &r.Articles, &r.Recipients,
		&created, &started, &finished, &r.Failure); err != nil {
		return nil, err
	}
	r.Kind, r.Status = digest.Kind(kind), digest.RunStatus(status)
	r.SlotAt, r.CreatedAt = fromMicros(slotAt), fromMicros(created)
	r.StartedAt, r.FinishedAt = fromNull(started), fromNull(finished)
	return &r, nil
}

func (s *Store) listRuns(ctx context.Context, query string, args ...any) ([]digest.Run, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: runs: %w", err)
	}
	defer rows.Close()
	var out []digest.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: runs: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// ActiveRuns lists planned and sending runs, oldest first.
func (s *Store) ActiveRuns(ctx context.Context) ([]digest.Run, error) {
	return s.listRuns(ctx, `SELECT `+runCols+` FROM digest_runs WHERE status IN ('planned', 'sending') ORDER BY id`)
}

// GetRun returns one run.
func (s *Store) GetRun(ctx context.Context, runID int64) (*digest.Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM digest_runs WHERE id = ?`, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, digest.RunNotFound(runID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: run %d: %w", runID, err)
	}
	return r, nil
}

// ListRuns lists runs newest first.
func (s *Store) ListRuns(ctx context.Context, newsletter string, sentOnly bool, limit int) ([]digest.Run, error) {
	var where []string
	var args []any
	if newsletter != "" {
		where = append(where, "newsletter = ?")
		args = append(args, newsletter)
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
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return s.listRuns(ctx, q, args...)
}

// RunCounts counts a run's deliveries by status: the rows stored plus the
// counts kept of rows deleted since (retention, erasure), in one snapshot.
func (s *Store) RunCounts(ctx context.Context, runID int64) (digest.Counts, error) {
	var c digest.Counts
	rows, err := s.r.QueryContext(ctx, `SELECT r.sent_count, r.failed_count, r.skipped_count, COALESCE(d.status, ''), COUNT(d.status)
		FROM digest_runs r LEFT JOIN digest_deliveries d ON d.run_id = r.id WHERE r.id = ? GROUP BY d.status`, runID)
	if err != nil {
		return c, fmt.Errorf("sqlite: run counts: %w", err)
	}
	defer rows.Close()
	var kept digest.Counts
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&kept.Sent, &kept.Failed, &kept.Skipped, &st, &n); err != nil {
			return c, fmt.Errorf("sqlite: run counts: %w", err)
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
		return c, fmt.Errorf("sqlite: run counts: %w", err)
	}
	c.Sent += kept.Sent
	c.Failed += kept.Failed
	c.Skipped += kept.Skipped
	c.Planned += kept.Sent + kept.Failed + kept.Skipped
	return c, nil
}

// Deliveries streams a run's deliveries by subscriber id.
func (s *Store) Deliveries(ctx context.Context, runID int64, fn func(digest.DeliveryRow) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT d.subscriber_id, COALESCE(s.email, ''), d.status, d.attempts, d.reply, d.message_id, d.sent_at
		FROM digest_deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id WHERE d.run_id = ? ORDER BY d.subscriber_id`, runID)
	if err != nil {
		return fmt.Errorf("sqlite: deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d digest.DeliveryRow
		var st string
		var sent sql.NullInt64
		if err := rows.Scan(&d.SubscriberID, &d.Email, &st, &d.Attempts, &d.Reply, &d.MessageID, &sent); err != nil {
			return fmt.Errorf("sqlite: deliveries: %w", err)
		}
		d.Status, d.SentAt = digest.DeliveryStatus(st), fromNull(sent)
		if err := fn(d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// StartRun marks a planned run sending.
func (s *Store) StartRun(ctx context.Context, runID int64, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE digest_runs SET status = 'sending', started_at = ? WHERE id = ? AND status = 'planned'`, micros(now), runID)
		if err != nil {
			return fmt.Errorf("sqlite: start run %d: %w", runID, err)
		}
		return nil
	})
}

// The delivery path's statements (hot): fixed texts, so each is parsed
// once per process. Subscriber ids go in as one JSON array (json_each)
// rather than a placeholder per id, which would make a text per batch size.
const (
	qExpireLeases = `UPDATE digest_deliveries SET status = 'pending', lease_until = 0
		WHERE run_id = ? AND status = 'sending' AND lease_until < ?`
	qClaim = `UPDATE digest_deliveries SET status = 'sending', lease_until = ?, attempts = attempts + 1
		WHERE run_id = ? AND subscriber_id IN (SELECT subscriber_id FROM digest_deliveries
			WHERE run_id = ? AND status = 'pending' AND next_attempt <= ? ORDER BY next_attempt, subscriber_id LIMIT ?)
		AND EXISTS (SELECT 1 FROM digest_runs r WHERE r.id = ? AND r.status IN ('planned', 'sending'))
		RETURNING subscriber_id, attempts`
	qClaimSubscribers = `SELECT s.id, s.email, s.name, s.status, s.link_secret, s.language,
			EXISTS (SELECT 1 FROM subscriptions sub WHERE sub.newsletter = ? AND sub.subscriber_id = s.id)
		FROM subscribers s WHERE s.id IN (SELECT value FROM json_each(?))`
	qClaimTags = `SELECT subscriber_id, tag_slug FROM subscriber_tags
		WHERE subscriber_id IN (SELECT value FROM json_each(?)) ORDER BY subscriber_id, tag_slug`
	qSkipDelivery = `UPDATE digest_deliveries SET status = 'skipped', reply = ?, lease_until = 0, sent_at = ?
		WHERE run_id = ? AND subscriber_id = ?`
	qRecordRelease = `UPDATE digest_deliveries SET status = 'pending', lease_until = 0,
		attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE run_id = ? AND subscriber_id = ? AND status = 'sending' AND lease_until = ?`
	qRecordRetry = `UPDATE digest_deliveries SET status = 'pending', lease_until = 0, next_attempt = ?, reply = ?
		WHERE run_id = ? AND subscriber_id = ? AND status = 'sending' AND lease_until = ?`
	qRecordSettled = `UPDATE digest_deliveries SET status = ?, lease_until = 0, reply = ?, message_id = ?, sent_at = ?
		WHERE run_id = ? AND subscriber_id = ? AND status <> 'sent'`
	// qRecordSettledAll is qRecordSettled for a batch in one statement,
	// from a JSON array of [subscriber_id, status, reply, message_id,
	// sent_at]. An upsert, so that the array drives the loop and each row
	// is found by its key: as UPDATE … FROM json_each the planner walked
	// the run's every row per batch. EXISTS keeps it from adding a row
	// (one erased meanwhile), so every row it selects conflicts.
	qRecordSettledAll = `INSERT INTO digest_deliveries (run_id, subscriber_id, status, reply, message_id, sent_at)
		SELECT ?, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4 FROM json_each(?) AS j
		WHERE EXISTS (SELECT 1 FROM digest_deliveries x WHERE x.run_id = ? AND x.subscriber_id = j.value ->> 0)
		ON CONFLICT (run_id, subscriber_id) DO UPDATE SET status = excluded.status, lease_until = 0,
			reply = excluded.reply, message_id = excluded.message_id, sent_at = excluded.sent_at
		WHERE digest_deliveries.status <> 'sent'`
	qBounceSoft = `UPDATE subscribers SET soft_failures = soft_failures + 1, updated_at = ? WHERE id = ?`
	qBounceHard = `UPDATE subscribers SET hard_failures = hard_failures + 1, updated_at = ?
		WHERE id = ? RETURNING hard_failures, status`
	qBounced = `UPDATE subscribers SET status = ? WHERE id = ?`
)

// ClaimDeliveries leases up to n due deliveries (see digest.DeliveryStore).
func (s *Store) ClaimDeliveries(ctx context.Context, runID int64, newsletter string, n int, now time.Time, lease time.Duration) ([]digest.Claim, error) {
	hot, err := s.hotAll(ctx, qExpireLeases, qClaim, qClaimSubscribers, qClaimTags, qSkipDelivery)
	if err != nil {
		return nil, err
	}
	var out []digest.Claim
	until := now.Add(lease)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		// Crash recovery: a lease that ran out returns its row to pending.
		if _, err := tx.StmtContext(ctx, hot[0]).ExecContext(ctx, runID, micros(now)); err != nil {
			return fmt.Errorf("sqlite: expire leases: %w", err)
		}
		rows, err := tx.StmtContext(ctx, hot[1]).QueryContext(ctx, micros(until), runID, runID, micros(now), n, runID)
		if err != nil {
			return fmt.Errorf("sqlite: claim: %w", err)
		}
		for rows.Next() {
			var c digest.Claim
			if err := rows.Scan(&c.SubscriberID, &c.Attempts); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: claim: %w", err)
			}
			c.LeaseUntil = until
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: claim: %w", err)
		}
		if len(out) == 0 {
			return nil
		}
		return fillClaims(ctx, tx, hot[2:], runID, newsletter, now, &out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// fillClaims adds each claimed subscriber's address, name and topic tags,
// and settles as skipped those no longer active and subscribed. hot holds
// qClaimSubscribers, qClaimTags and qSkipDelivery.
func fillClaims(ctx context.Context, tx *sql.Tx, hot []*sql.Stmt, runID int64, newsletter string, now time.Time, claims *[]digest.Claim) error {
	cs := *claims
	byID := make(map[int64]int, len(cs))
	ids := make([]byte, 0, 8*len(cs)+2)
	ids = append(ids, '[')
	for i, c := range cs {
		byID[c.SubscriberID] = i
		if i > 0 {
			ids = append(ids, ',')
		}
		ids = strconv.AppendInt(ids, c.SubscriberID, 10)
	}
	idList := string(append(ids, ']'))
	rows, err := tx.StmtContext(ctx, hot[0]).QueryContext(ctx, newsletter, idList)
	if err != nil {
		return fmt.Errorf("sqlite: claim subscribers: %w", err)
	}
	reason := make(map[int64]string, len(cs))
	for _, c := range cs {
		reason[c.SubscriberID] = "subscriber erased"
	}
	for rows.Next() {
		var id int64
		var email, name, status, language string
		var secret []byte
		var subscribed bool
		if err := rows.Scan(&id, &email, &name, &status, &secret, &language, &subscribed); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: claim subscribers: %w", err)
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
		return fmt.Errorf("sqlite: claim subscribers: %w", err)
	}
	rows, err = tx.StmtContext(ctx, hot[1]).QueryContext(ctx, idList)
	if err != nil {
		return fmt.Errorf("sqlite: claim tags: %w", err)
	}
	for rows.Next() {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: claim tags: %w", err)
		}
		i := byID[id]
		cs[i].Tags = append(cs[i].Tags, tag)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: claim tags: %w", err)
	}
	if len(reason) == 0 {
		return nil
	}
	skip := tx.StmtContext(ctx, hot[2])
	kept := cs[:0]
	for _, c := range cs {
		why, skipped := reason[c.SubscriberID]
		if !skipped {
			kept = append(kept, c)
			continue
		}
		if _, err := skip.ExecContext(ctx, why, micros(now), runID, c.SubscriberID); err != nil {
			return fmt.Errorf("sqlite: skip delivery: %w", err)
		}
	}
	*claims = kept
	return nil
}

// RecordOutcomes stores outcomes in one transaction. A retry or a release
// applies only while the claim's lease still holds the row (the lease is
// the fencing token); a row already sent (by another process whose lease
// overlapped) is never downgraded.
func (s *Store) RecordOutcomes(ctx context.Context, runID int64, outs []digest.Outcome) error {
	if len(outs) == 0 {
		return nil
	}
	hot, err := s.hotAll(ctx, qRecordRelease, qRecordRetry, qRecordSettled, qBounceSoft, qBounceHard, qBounced, qRecordSettledAll)
	if err != nil {
		return err
	}
	// Settled outcomes (sent, failed, skipped: nearly all of them) go in
	// one statement; a statement per outcome was most of a batch's time.
	// Within a batch no delivery appears twice (a released row stays
	// leased until its release is recorded), so the order between the two
	// kinds of statement does not matter.
	settledAll := make([]byte, 0, 96*len(outs))
	return s.inTx(ctx, func(tx *sql.Tx) error {
		settledAll = append(settledAll[:0], '[')
		var release, retry, settled *sql.Stmt // bound to tx on first use
		for _, o := range outs {
			var err error
			switch {
			case o.Status == digest.DeliveryPending && o.Release:
				release = txStmt(ctx, tx, release, hot[0])
				_, err = release.ExecContext(ctx, runID, o.SubscriberID, micros(o.Lease))
			case o.Status == digest.DeliveryPending:
				retry = txStmt(ctx, tx, retry, hot[1])
				_, err = retry.ExecContext(ctx, micros(o.NextAttempt), o.Reply, runID, o.SubscriberID, micros(o.Lease))
			case utf8.ValidString(o.Reply) && utf8.ValidString(o.MessageID):
				if len(settledAll) > 1 {
					settledAll = append(settledAll, ',')
				}
				settledAll = appendSettled(settledAll, o)
			default:
				// Bytes JSON cannot carry as they are: stored as given.
				settled = txStmt(ctx, tx, settled, hot[2])
				_, err = settled.ExecContext(ctx, string(o.Status), o.Reply, o.MessageID, micros(o.At), runID, o.SubscriberID)
			}
			if err != nil {
				return fmt.Errorf("sqlite: record delivery %d/%d: %w", runID, o.SubscriberID, err)
			}
			if o.Bounce != digest.BounceNone {
				if err := recordBounce(ctx, tx, hot[3:6], o); err != nil {
					return err
				}
			}
		}
		if len(settledAll) > 1 {
			settledAll = append(settledAll, ']')
			if _, err := tx.StmtContext(ctx, hot[6]).ExecContext(ctx, runID, string(settledAll), runID); err != nil {
				return fmt.Errorf("sqlite: record %d deliveries of run %d: %w", len(outs), runID, err)
			}
		}
		return nil
	})
}

// appendSettled appends o as qRecordSettledAll's JSON element.
func appendSettled(b []byte, o digest.Outcome) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, o.SubscriberID, 10)
	b = appendJSONString(append(b, ','), string(o.Status))
	b = appendJSONString(append(b, ','), o.Reply)
	b = appendJSONString(append(b, ','), o.MessageID)
	b = strconv.AppendInt(append(b, ','), micros(o.At), 10)
	return append(b, ']')
}

// appendJSONString appends s (valid UTF-8) as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// txStmt binds st to tx once: bound is nil or st already bound.
func txStmt(ctx context.Context, tx *sql.Tx, bound, st *sql.Stmt) *sql.Stmt {
	if bound != nil {
		return bound
	}
	return tx.StmtContext(ctx, st)
}

// recordBounce applies the bounce rule (digest.Bounce): a 5xx adds a hard
// failure, and an unknown mailbox or the third hard failure marks an
// active subscriber bounced; used-up temporary failures add a soft one.
// hot holds qBounceSoft, qBounceHard and qBounced.
func recordBounce(ctx context.Context, tx *sql.Tx, hot []*sql.Stmt, o digest.Outcome) error {
	var err error
	now := micros(o.At)
	switch o.Bounce {
	case digest.BounceSoft:
		_, err = tx.StmtContext(ctx, hot[0]).ExecContext(ctx, now, o.SubscriberID)
	case digest.BounceHard, digest.BounceUnknownUser:
		var hard int
		var status string
		err = tx.StmtContext(ctx, hot[1]).QueryRowContext(ctx, now, o.SubscriberID).Scan(&hard, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // erased meanwhile
		}
		if err == nil && status == string(subscribe.StatusActive) && o.Bounce.Bounces(hard) {
			_, err = tx.StmtContext(ctx, hot[2]).ExecContext(ctx, string(subscribe.StatusBounced), o.SubscriberID)
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: bounce %d: %w", o.SubscriberID, err)
	}
	return nil
}

// NextDue is when a delivery of the run may next become claimable.
func (s *Store) NextDue(ctx context.Context, runID int64) (time.Time, bool, error) {
	var pend, lease sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT MIN(next_attempt) FROM digest_deliveries WHERE run_id = ? AND status = 'pending'),
		(SELECT MIN(lease_until) FROM digest_deliveries WHERE run_id = ? AND status = 'sending')`, runID, runID).Scan(&pend, &lease)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: next due: %w", err)
	}
	switch {
	case pend.Valid && lease.Valid:
		return fromMicros(min(pend.Int64, lease.Int64)), true, nil
	case pend.Valid:
		return fromMicros(pend.Int64), true, nil
	case lease.Valid:
		return fromMicros(lease.Int64), true, nil
	}
	return time.Time{}, false, nil
}

// FinishRun marks the run done once nothing is pending or leased.
func (s *Store) FinishRun(ctx context.Context, runID int64, now time.Time) (bool, error) {
	var done bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE digest_runs SET status = 'done', finished_at = ?
			WHERE id = ? AND status IN ('planned', 'sending')
			AND NOT EXISTS (SELECT 1 FROM digest_deliveries WHERE run_id = ? AND status = 'pending')
			AND NOT EXISTS (SELECT 1 FROM digest_deliveries WHERE run_id = ? AND status = 'sending')`, micros(now), runID, runID, runID)
		if err != nil {
			return fmt.Errorf("sqlite: finish run %d: %w", runID, err)
		}
		n, _ := res.RowsAffected()
		done = n > 0
		return nil
	})
	return done, err
}

// FailRun marks an unfinished run failed (see digest.DeliveryStore): its
// open deliveries are settled skipped with the reason, and its articles
// are released to the next run, all in one transaction.
func (s *Store) FailRun(ctx context.Context, runID int64, now time.Time, reason string) (bool, error) {
	var failed bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE digest_runs SET status = 'failed', finished_at = ?, failure = ?
			WHERE id = ? AND status IN ('planned', 'sending', 'paused')`, micros(now), reason, runID)
		if err != nil {
			return fmt.Errorf("sqlite: fail run %d: %w", runID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		failed = true
		if _, err := tx.ExecContext(ctx, `UPDATE digest_deliveries SET status = 'skipped', reply = ?, lease_until = 0, sent_at = ?
			WHERE run_id = ? AND status IN ('pending', 'sending')`, "run failed: "+reason, micros(now), runID); err != nil {
			return fmt.Errorf("sqlite: fail run %d: %w", runID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM newsletter_articles WHERE run_id = ?`, runID); err != nil {
			return fmt.Errorf("sqlite: fail run %d: %w", runID, err)
		}
		return nil
	})
	return failed, err
}

// Variant returns a stored variant.
func (s *Store) Variant(ctx context.Context, runID int64, key string) (*digest.Variant, bool, error) {
	return variant(ctx, s.r, runID, key)
}

func variant(ctx context.Context, q queryer, runID int64, key string) (*digest.Variant, bool, error) {
	v := digest.Variant{Key: key}
	err := q.QueryRowContext(ctx, `SELECT subject, html, text FROM digest_variants WHERE run_id = ? AND key = ?`, runID, key).
		Scan(&v.Subject, &v.HTML, &v.Text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: variant %d/%s: %w", runID, key, err)
	}
	return &v, true, nil
}

// PutVariant keeps v unless its key exists, and returns the kept one.
func (s *Store) PutVariant(ctx context.Context, runID int64, v digest.Variant) (*digest.Variant, error) {
	var out *digest.Variant
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO digest_variants (run_id, key, subject, html, text) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (run_id, key) DO NOTHING`, runID, v.Key, v.Subject, v.HTML, v.Text); err != nil {
			return fmt.Errorf("sqlite: put variant: %w", err)
		}
		var err error
		out, _, err = variant(ctx, tx, runID, v.Key)
		return err
	})
	return out, err
}

// RunArticles returns the run's articles in order, with tags.
func (s *Store) RunArticles(ctx context.Context, runID int64) ([]article.Article, error) {
	return queryArticles(ctx, s.r, `SELECT `+prefixCols("a")+` FROM digest_run_articles ra JOIN articles a ON a.id = ra.article_id
		WHERE ra.run_id = ? ORDER BY ra.position`, runID)
}

// LookupSubscriber finds a subscriber by address, with topic tags.
func (s *Store) LookupSubscriber(ctx context.Context, email string) (digest.Claim, bool, error) {
	var c digest.Claim
	err := s.r.QueryRowContext(ctx, `SELECT id, email, name, link_secret FROM subscribers WHERE email = ?`, strings.TrimSpace(email)).
		Scan(&c.SubscriberID, &c.Email, &c.Name, &c.LinkSecret)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("sqlite: subscriber: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT tag_slug FROM subscriber_tags WHERE subscriber_id = ? ORDER BY tag_slug`, c.SubscriberID)
	if err != nil {
		return c, false, fmt.Errorf("sqlite: subscriber tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return c, false, err
		}
		c.Tags = append(c.Tags, t)
	}
	return c, true, rows.Err()
}
