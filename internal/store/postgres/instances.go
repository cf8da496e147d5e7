package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClaimPing records that the feed at feedURL is announced to WebSub hubs
// with the bytes of etag, and reports whether this call changed the record:
// of the instances that saw the same change, exactly one wins and pings
// (docs/ARCHITECTURE.md, "Leases and slots"). A concurrent upsert waits
// for the first and then finds the etag already set.
func (s *Store) ClaimPing(ctx context.Context, feedURL, etag string, now time.Time) (bool, error) {
	var one int
	err := s.pool.QueryRow(ctx, `INSERT INTO websub_pings (feed_url, etag, pinged_at) VALUES ($1, $2, $3)
		ON CONFLICT (feed_url) DO UPDATE SET etag = excluded.etag, pinged_at = excluded.pinged_at
		WHERE websub_pings.etag <> excluded.etag
		RETURNING 1`, feedURL, etag, micros(now)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: claim websub ping: %w", err)
	}
	return true, nil
}

// CountHit adds one request by key to the window starting at window and
// returns the window's count with it, and the count of the window starting
// at previous.
func (s *Store) CountHit(ctx context.Context, key string, window, previous time.Time) (cur, prev int64, err error) {
	err = s.pool.QueryRow(ctx, `WITH hit AS (
			INSERT INTO rate_hits (key, window_start, count) VALUES ($1, $2, 1)
			ON CONFLICT (key, window_start) DO UPDATE SET count = rate_hits.count + 1
			RETURNING count)
		SELECT (SELECT count FROM hit),
		       COALESCE((SELECT count FROM rate_hits WHERE key = $1 AND window_start = $3), 0)`,
		key, micros(window), micros(previous)).Scan(&cur, &prev)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: count hit: %w", err)
	}
	return cur, prev, nil
}

// PruneHits deletes the counts of windows that started before before.
func (s *Store) PruneHits(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM rate_hits WHERE window_start < $1`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune hits: %w", err)
	}
	return tag.RowsAffected(), nil
}

// AcquireLease takes the lease name for holder until now+ttl, or renews it
// when holder has it already; false means another holder's lease is live.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	var one int
	err := s.pool.QueryRow(ctx, `INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE leases.holder = excluded.holder OR leases.until <= $4
		RETURNING 1`, name, holder, micros(now.Add(ttl)), micros(now)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: acquire lease %s: %w", name, err)
	}
	return true, nil
}

// ReleaseLease gives the lease name up if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return fmt.Errorf("postgres: release lease %s: %w", name, err)
	}
	return nil
}
