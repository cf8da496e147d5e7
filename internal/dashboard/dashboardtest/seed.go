// Package dashboardtest seeds the admin pages' benchmark stores (issue
// 13's bar: 100,000 subscribers and 1,000 runs) once per schema version,
// for the dashboard service's benchmarks and the dashboard page's.
package dashboardtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store/postgres"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// Now is the seed's clock: every seeded time is before it.
var Now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// The seed, in each dialect: 100,000 subscribers over two years (a tenth
// pending, a tenth unsubscribed, one in a hundred bounced; every 50th
// named "Åsa Ström N", every 7th with topic wp4), all subscribed to
// monthly and a third to weekly; 1,000 runs over 1,000 days alternating
// between the two, the older ones with 100 delivery rows each and the
// latest of each newsletter with one per subscriber; 10,000 unsubscribes.
const seedSQLite = `
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 100000)
INSERT INTO subscribers (id, email, name, status, created_at, confirmed_at, unsubscribed_at, updated_at)
SELECT i, 'user' || i || '@example.org',
    CASE WHEN i % 50 = 0 THEN 'Åsa Ström ' || i ELSE 'Person ' || i END,
    CASE WHEN i % 10 = 0 THEN 'pending' WHEN i % 10 = 1 THEN 'unsubscribed' WHEN i % 100 = 2 THEN 'bounced' ELSE 'active' END,
    ?1 - (100001 - i) * 600000000,
    CASE WHEN i % 10 = 0 THEN NULL ELSE ?1 - (100001 - i) * 600000000 + 3600000000 END,
    CASE WHEN i % 10 = 1 THEN ?1 - (100001 - i) * 600000000 + 7200000000 END,
    ?1 - (100001 - i) * 600000000 + 7200000000
FROM seq;
INSERT INTO subscriptions (newsletter, subscriber_id, created_at) SELECT 'monthly', id, created_at FROM subscribers WHERE status <> 'unsubscribed';
INSERT INTO subscriptions (newsletter, subscriber_id, created_at) SELECT 'weekly', id, created_at FROM subscribers WHERE status <> 'unsubscribed' AND id % 3 = 0;
INSERT INTO subscriber_tags (subscriber_id, tag_slug) SELECT id, 'wp4' FROM subscribers WHERE id % 7 = 0;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 1000)
INSERT INTO digest_runs (id, newsletter, slot, slot_at, kind, status, subject, articles, recipients, created_at, started_at, finished_at)
SELECT i, CASE WHEN i % 2 = 0 THEN 'monthly' ELSE 'weekly' END, 'bench-' || i, ?1 - (1001 - i) * 86400000000, 'scheduled', 'done',
    'Issue ' || i, 5, 100, ?1 - (1001 - i) * 86400000000, ?1 - (1001 - i) * 86400000000, ?1 - (1001 - i) * 86400000000 + 3600000000
FROM seq;
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 998),
    k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 100)
INSERT INTO digest_deliveries (run_id, subscriber_id, status, attempts, reply, sent_at)
SELECT i, (i * 37 + j) % 100000 + 1, CASE WHEN j % 20 = 0 THEN 'failed' WHEN j % 25 = 1 THEN 'skipped' ELSE 'sent' END, 1, '250 ok',
    ?1 - (1001 - i) * 86400000000 + 60000000
FROM r, k;
INSERT INTO digest_deliveries (run_id, subscriber_id, status, attempts, reply, sent_at)
SELECT CASE newsletter WHEN 'monthly' THEN 1000 ELSE 999 END, subscriber_id,
    CASE WHEN subscriber_id % 20 = 0 THEN 'failed' WHEN subscriber_id % 25 = 1 THEN 'skipped' ELSE 'sent' END, 1, '250 ok', ?1 - 60000000
FROM subscriptions;
UPDATE digest_runs SET recipients = (SELECT COUNT(*) FROM digest_deliveries WHERE run_id = digest_runs.id) WHERE id >= 999;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 10000)
INSERT INTO unsubscribes (newsletter, at) SELECT CASE WHEN i % 2 = 0 THEN 'monthly' ELSE 'weekly' END, ?1 - i * 8640000000 FROM seq;
`

const seedPostgres = `
INSERT INTO subscribers (id, email, name, status, created_at, confirmed_at, unsubscribed_at, updated_at)
SELECT i, 'user' || i || '@example.org',
    CASE WHEN i % 50 = 0 THEN 'Åsa Ström ' || i ELSE 'Person ' || i END,
    CASE WHEN i % 10 = 0 THEN 'pending' WHEN i % 10 = 1 THEN 'unsubscribed' WHEN i % 100 = 2 THEN 'bounced' ELSE 'active' END,
    $1 - (100001 - i) * 600000000::bigint,
    CASE WHEN i % 10 = 0 THEN NULL ELSE $1 - (100001 - i) * 600000000::bigint + 3600000000 END,
    CASE WHEN i % 10 = 1 THEN $1 - (100001 - i) * 600000000::bigint + 7200000000 END,
    $1 - (100001 - i) * 600000000::bigint + 7200000000
FROM generate_series(1, 100000) AS i;
INSERT INTO subscriptions (newsletter, subscriber_id, created_at) SELECT 'monthly', id, created_at FROM subscribers WHERE status <> 'unsubscribed';
INSERT INTO subscriptions (newsletter, subscriber_id, created_at) SELECT 'weekly', id, created_at FROM subscribers WHERE status <> 'unsubscribed' AND id % 3 = 0;
INSERT INTO subscriber_tags (subscriber_id, tag_slug) SELECT id, 'wp4' FROM subscribers WHERE id % 7 = 0;
INSERT INTO digest_runs (id, newsletter, slot, slot_at, kind, status, subject, articles, recipients, created_at, started_at, finished_at)
SELECT i, CASE WHEN i % 2 = 0 THEN 'monthly' ELSE 'weekly' END, 'bench-' || i, $1 - (1001 - i) * 86400000000::bigint, 'scheduled', 'done',
    'Issue ' || i, 5, 100, $1 - (1001 - i) * 86400000000::bigint, $1 - (1001 - i) * 86400000000::bigint, $1 - (1001 - i) * 86400000000::bigint + 3600000000
FROM generate_series(1, 1000) AS i;
INSERT INTO digest_deliveries (run_id, subscriber_id, status, attempts, reply, sent_at)
SELECT i, (i * 37 + j) % 100000 + 1, CASE WHEN j % 20 = 0 THEN 'failed' WHEN j % 25 = 1 THEN 'skipped' ELSE 'sent' END, 1, '250 ok',
    $1 - (1001 - i) * 86400000000::bigint + 60000000
FROM generate_series(1, 998) AS i, generate_series(1, 100) AS j;
INSERT INTO digest_deliveries (run_id, subscriber_id, status, attempts, reply, sent_at)
SELECT CASE newsletter WHEN 'monthly' THEN 1000 ELSE 999 END, subscriber_id,
    CASE WHEN subscriber_id % 20 = 0 THEN 'failed' WHEN subscriber_id % 25 = 1 THEN 'skipped' ELSE 'sent' END, 1, '250 ok', $1::bigint - 60000000
FROM subscriptions;
UPDATE digest_runs SET recipients = (SELECT count(*) FROM digest_deliveries WHERE run_id = digest_runs.id) WHERE id >= 999;
INSERT INTO unsubscribes (newsletter, at) SELECT CASE WHEN i % 2 = 0 THEN 'monthly' ELSE 'weekly' END, $1 - i * 8640000000::bigint
FROM generate_series(1, 10000) AS i;
`

// SQLite opens the seeded SQLite store, seeding it first when the
// cached copy (in the temporary folder, per schema version) is missing.
func SQLite(b testing.TB) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("herald-dash-bench-%d-%s.db", sqlite.LatestVersion(), schemaHash(b, "sqlite")))
	if _, err := os.Stat(path); err != nil {
		tmp := filepath.Join(b.TempDir(), "seed.db")
		st, err := sqlite.Open(ctx, tmp)
		if err != nil {
			b.Fatal(err)
		}
		st.Close()
		db, err := sql.Open("sqlite", "file:"+tmp+"?_pragma=foreign_keys(1)")
		if err != nil {
			b.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, stmt := range strings.Split(seedSQLite, ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			var args []any
			if strings.Contains(stmt, "?1") {
				args = []any{Now.UnixMicro()}
			}
			if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
				b.Fatalf("%v\n%s", err, stmt)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			b.Fatal(err)
		}
		db.Close()
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// Postgres opens the seeded PostgreSQL database, seeding it first
// when it is missing: it is kept on the server between runs (named by
// schema version), as the SQLite file is kept.
func Postgres(b testing.TB) *postgres.Store {
	b.Helper()
	ctx := context.Background()
	admin := os.Getenv(testenv.PostgresEnv)
	if admin == "" {
		testenv.PostgresDSN(b) // skips, or fails when every test must run
	}
	name := fmt.Sprintf("herald_bench_dash_%d_%s", postgres.LatestVersion(), schemaHash(b, "postgres"))
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	dsn := u.String()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		seedPostgresDB(b, conn, name, dsn)
	}
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// seedPostgresDB creates database name (as a temporary name first, so a
// half-seeded one is never taken for the cache) and seeds it.
func seedPostgresDB(b testing.TB, admin *pgx.Conn, name, dsn string) {
	b.Helper()
	ctx := context.Background()
	tmp := name + "_seeding"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+tmp); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+tmp); err != nil {
		b.Fatal(err)
	}
	tmpDSN := strings.Replace(dsn, "/"+name, "/"+tmp, 1)
	st, err := postgres.Open(ctx, tmpDSN)
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	conn, err := pgx.Connect(ctx, tmpDSN)
	if err != nil {
		b.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, stmt := range strings.Split(seedPostgres, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		var args []any
		if strings.Contains(stmt, "$1") {
			args = []any{Now.UnixMicro()}
		}
		if _, err := tx.Exec(ctx, stmt, args...); err != nil {
			b.Fatalf("%v\n%s", err, stmt)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	conn.Close(ctx)
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+tmp+" RENAME TO "+name); err != nil {
		b.Fatal(err)
	}
}

// CPUTime is the CPU time this process has used. On a loaded machine the
// wall time per operation mostly measures waiting for a core; the CPU
// time per operation does not (for PostgreSQL it leaves out the server's).
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ReportCPU reports the CPU time per operation since start (CPUTime)
// as cpu-ms/op.
func ReportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(CPUTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// schemaHash is a short hash of a dialect's migrations and of the seed,
// read from the source tree: the seeded copies are kept in shared places
// (the temporary folder, the test server), and branches that number
// their migrations alike must not take each other's copy.
func schemaHash(b testing.TB, dialect string) string {
	b.Helper()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(self), "..", "..", "store", dialect, "migrations")
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil || len(files) == 0 {
		b.Fatalf("dashboardtest: the %s migrations at %s: %v", dialect, dir, err)
	}
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(data))
		h.Write(data)
	}
	h.Write([]byte(seedSQLite + seedPostgres))
	return fmt.Sprintf("%x", h.Sum(nil))[:10]
}
