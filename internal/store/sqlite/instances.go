package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ClaimPing records that the feed at feedURL is announced to WebSub hubs
// with the bytes of etag, and reports whether this call changed the record:
// of the instances that saw the same change, exactly one wins and pings
// (docs/ARCHITECTURE.md, "Leases and slots").
func (s *Store) ClaimPing(ctx context.Context, feedURL, etag string, now time.Time) (bool, error) {
	var one int
	err := s.w.QueryRowContext(ctx, `INSERT INTO websub_pings (feed_url, etag, pinged_at) VALUES (?, ?, ?)
		ON CONFLICT (feed_url) DO UPDATE SET etag = excluded.etag, pinged_at = excluded.pinged_at
		WHERE websub_pings.etag <> excluded.etag
		RETURNING 1`, feedURL, etag, micros(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: claim websub ping: %w", err)
	}
	return true, nil
}

// CountHit adds one request by key to the window starting at window and
// returns the window's count with it, and the count of the window starting
// at previous.
func (s *Store) CountHit(ctx context.Context, key string, window, previous time.Time) (cur, prev int64, err error) {
	err = s.w.QueryRowContext(ctx, `INSERT INTO rate_hits (key, window_start, count) VALUES (?, ?, 1)
		ON CONFLICT (key, window_start) DO UPDATE SET count = rate_hits.count + 1
		RETURNING count`, key, micros(window)).Scan(&cur)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: count hit: %w", err)
	}
	err = s.w.QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM rate_hits WHERE key = ? AND window_start = ?`,
		key, micros(previous)).Scan(&prev)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: count hit: %w", err)
	}
	return cur, prev, nil
}

// PruneHits deletes the counts of windows that started before before.
func (s *Store) PruneHits(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM rate_hits WHERE window_start < ?`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune hits: %w", err)
	}
	return res.RowsAffected()
}

// AcquireLease takes the lease name for holder until now+ttl, or renews it
// when holder has it already; false means another holder's lease is live.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	var one int
	err := s.w.QueryRowContext(ctx, `INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE leases.holder = excluded.holder OR leases.until <= ?
		RETURNING 1`, name, holder, micros(now.Add(ttl)), micros(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: acquire lease %s: %w", name, err)
	}
	return true, nil
}

// ReleaseLease gives the lease name up if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("sqlite: release lease %s: %w", name, err)
	}
	return nil
}
