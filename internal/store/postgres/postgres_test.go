package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/testenv"
)

// openTest opens a store on a fresh database, closed when t ends.
func openTest(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	ms, err := listMigrations()
	if err != nil {
		t.Fatal(err)
	}
	applied := func(t *testing.T, s *Store) int {
		t.Helper()
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("OK", func(t *testing.T) {
		s := openTest(t, testenv.PostgresDSN(t))
		v, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v != LatestVersion() || v < 1 {
			t.Errorf("SchemaVersion = %d, want %d", v, LatestVersion())
		}
		if n := applied(t, s); n != len(ms) {
			t.Errorf("%d migrations recorded, want %d", n, len(ms))
		}
		if err := s.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
		// Every table SQLite migrations 001–008 produce.
		for _, table := range []string{"articles", "tags", "article_tags", "meta", "subscribers", "subscriptions",
			"subscriber_tags", "erasures", "secrets", "newsletter_state", "digest_runs", "digest_run_articles",
			"newsletter_articles", "digest_variants", "digest_deliveries", "confirm_queue", "confirm_mailboxes",
			"confirm_domain_sends", "settings", "feed_changes"} {
			var ok bool
			if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, "public."+table).Scan(&ok); err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("table %s missing", table)
			}
		}
		// Reopening migrates nothing.
		s.Close()
		s2 := openTest(t, s.pool.Config().ConnString())
		if n := applied(t, s2); n != len(ms) {
			t.Errorf("after reopening: %d migrations recorded, want %d", n, len(ms))
		}
	})

	// Two instances starting together: both open, each migration runs once
	// (a second run of 001 would fail on its CREATE TABLEs).
	t.Run("Concurrent", func(t *testing.T) {
		dsn := testenv.PostgresDSN(t)
		var wg sync.WaitGroup
		stores := make([]*Store, 2)
		errs := make([]error, 2)
		for i := range stores {
			wg.Go(func() { stores[i], errs[i] = Open(ctx, dsn) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Open %d: %v", i, err)
			}
			t.Cleanup(func() { stores[i].Close() })
		}
		if n := applied(t, stores[0]); n != len(ms) {
			t.Errorf("%d migrations recorded, want %d", n, len(ms))
		}
	})

	t.Run("ErrTooNew", func(t *testing.T) {
		dsn := testenv.PostgresDSN(t)
		s := openTest(t, dsn)
		if _, err := s.pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')`, LatestVersion()+1); err != nil {
			t.Fatal(err)
		}
		s2, err := Open(ctx, dsn)
		if err == nil {
			s2.Close()
		}
		if !errors.Is(err, store.ErrTooNew) {
			t.Fatalf("Open of a newer schema: %v, want ErrTooNew", err)
		}
	})

	t.Run("ErrNoStore", func(t *testing.T) {
		dsn := testenv.PostgresDSN(t)
		s, err := OpenExisting(ctx, dsn)
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, ErrNoStore) {
			t.Fatalf("OpenExisting of an empty database: %v, want ErrNoStore", err)
		}
		openTest(t, dsn).Close()
		s, err = OpenExisting(ctx, dsn)
		if err != nil {
			t.Fatalf("OpenExisting of a store: %v", err)
		}
		s.Close()
	})

	// The pool is sized by pgx's own DSN parameter.
	t.Run("PoolMaxConns", func(t *testing.T) {
		u, err := url.Parse(testenv.PostgresDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("pool_max_conns", "3")
		u.RawQuery = q.Encode()
		s := openTest(t, u.String())
		if n := s.pool.Config().MaxConns; n != 3 {
			t.Errorf("pool of %d connections, want 3", n)
		}
	})

	t.Run("ErrBadDSN", func(t *testing.T) {
		_, err := Open(ctx, "postgres://u:secret@[::1/db")
		if err == nil {
			t.Fatal("Open of a bad DSN succeeded")
		}
		if s := err.Error(); strings.Contains(s, "secret") {
			t.Errorf("error shows the password: %s", s)
		}
	})
}
