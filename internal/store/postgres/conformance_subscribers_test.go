package postgres_test

import (
	"context"
	"testing"

	"github.com/herald-news/herald/internal/store/postgres"
	"github.com/herald-news/herald/internal/store/storetest"
	"github.com/herald-news/herald/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// opener returns a function opening a store on an empty database, and
// that database's DSN (for a second handle). All stores of one top-level
// test share the database, emptied (TRUNCATE, ids not restarted) before
// each further open: creating a database per subtest would cost most of
// CI's PostgreSQL budget.
func opener(t *testing.T) (open func(t *testing.T) *postgres.Store, dsn string) {
	dsn = testenv.PostgresDSN(t)
	used := false
	return func(t *testing.T) *postgres.Store {
		t.Helper()
		if used {
			emptyDatabase(t, dsn)
		}
		used = true
		return openDSN(t, dsn)
	}, dsn
}

func openDSN(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// emptyDatabase truncates every table but the migration bookkeeping
// (schema_migrations, meta).
func emptyDatabase(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DO $$ DECLARE tabs text; BEGIN
		SELECT string_agg(quote_ident(tablename), ', ') INTO tabs FROM pg_tables
			WHERE schemaname = current_schema() AND tablename NOT IN ('schema_migrations', 'meta');
		IF tabs IS NOT NULL THEN EXECUTE 'TRUNCATE ' || tabs || ' CASCADE'; END IF;
	END $$`); err != nil {
		t.Fatalf("empty database: %v", err)
	}
}

func TestSubscribers(t *testing.T) {
	open, _ := opener(t)
	storetest.RunSubscribers(t, func(t *testing.T) storetest.SubscriberStore { return open(t) })
}

func TestConfirmShared(t *testing.T) {
	open, dsn := opener(t)
	storetest.RunConfirmShared(t, func(t *testing.T) (storetest.SubscriberStore, storetest.SubscriberStore) {
		return open(t), openDSN(t, dsn)
	})
}
