package storecopy_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store/postgres"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/store/storecopy"
	"github.com/herald-news/herald/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// sqliteStore makes a migrated SQLite store and runs stmts on it raw.
func sqliteStore(t *testing.T, stmts ...string) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "herald.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return path
}

// icuDatabase is a new database whose default collation is ICU's root
// locale, dropped when t ends.
func icuDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	testenv.PostgresDSN(t) // skips without a server
	admin := os.Getenv(testenv.PostgresEnv)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("herald_t_icu_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'"); err != nil {
		t.Skipf("no ICU collations on this server: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func pgExec(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestCopy covers the values a dialect stores differently (booleans,
// blobs, NULLs, text ordered by bytes), the id sequences, and schemas that
// differ. One database per subtest: each copy needs an empty one.
func TestCopy(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		src := sqliteStore(t,
			`INSERT INTO articles (id, slug, title, published, updated, draft, source, first_seen) VALUES
				(3, 'b', 'B', 10, 11, 1, 'file', NULL), (7, 'a', 'A', 20, 21, 0, 'file', 20), (9, 'Z', 'Z', 30, 30, 0, 'api', 30)`,
			`INSERT INTO subscribers (email, status, created_at, updated_at, link_secret) VALUES
				('x@example.org', 'active', 1, 1, x'00ff10'), ('y@example.org', 'pending', 2, 2, x'01')`,
			`UPDATE sqlite_sequence SET seq = 40 WHERE name = 'subscribers'`,
			`INSERT INTO settings (key, value) VALUES ('feed_authority', 'example.org,2026'), ('installation_id', 'abcdefghijklmnop')`,
			`INSERT INTO confirm_queue (email, choice, queued_at, applied) VALUES ('B@x.org', '{}', 5, 1), ('a@x.org', '{}', 6, 0)`,
		)
		dsn := testenv.PostgresDSN(t)
		rep, err := storecopy.Copy(ctx, src, dsn, nil)
		if err != nil {
			t.Fatalf("copy: %v (%+v)", err, rep)
		}
		if rep.Rows == 0 || !rep.OK() {
			t.Fatalf("report %+v", rep)
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		// The installation id moves with the store: Message-IDs stay its own.
		if pst, err := postgres.Open(ctx, dsn); err != nil {
			t.Fatal(err)
		} else {
			if id, err := pst.InstallationID(ctx); err != nil || id != "abcdefghijklmnop" {
				t.Errorf("installation id after copy: %q %v", id, err)
			}
			pst.Close()
		}
		var draft bool
		var first *int64
		conn.QueryRow(ctx, `SELECT draft, first_seen FROM articles WHERE id = 3`).Scan(&draft, &first)
		if !draft || first != nil {
			t.Errorf("article 3: draft %v first_seen %v, want true, NULL", draft, first)
		}
		var secret []byte
		conn.QueryRow(ctx, `SELECT link_secret FROM subscribers WHERE email = 'x@example.org'`).Scan(&secret)
		if string(secret) != "\x00\xff\x10" {
			t.Errorf("link_secret %x", secret)
		}
		var id int64
		if err := conn.QueryRow(ctx, `INSERT INTO subscribers (email, created_at, updated_at) VALUES ('n@example.org', 3, 3) RETURNING id`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if id != 41 {
			t.Errorf("new subscriber id %d, want 41 (after SQLite's AUTOINCREMENT mark)", id)
		}
		if err := conn.QueryRow(ctx, `INSERT INTO articles (slug, title, published, updated, source) VALUES ('n', 'N', 1, 1, 'api') RETURNING id`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if id != 10 {
			t.Errorf("new article id %d, want 10", id)
		}
	})
	t.Run("OKCollation", func(t *testing.T) {
		// A database whose default collation sorts "a" before "B" (ICU),
		// unlike SQLite: the checksums still agree, both sides ordering
		// text by bytes.
		src := sqliteStore(t,
			`INSERT INTO confirm_queue (email, choice, queued_at) VALUES ('B@x.org', '{}', 5), ('a@x.org', '{}', 6)`,
			`INSERT INTO settings (key, value) VALUES ('Zeta', '1'), ('alpha', '2')`,
		)
		dsn := icuDatabase(t)
		if rep, err := storecopy.Copy(ctx, src, dsn, nil); err != nil {
			t.Fatalf("copy: %v (%+v)", err, rep)
		}
	})
	t.Run("ErrValueDoesNotFit", func(t *testing.T) {
		src := sqliteStore(t, `INSERT INTO articles (slug, title, published, updated, draft, source) VALUES ('a', 'A', 1, 1, 2, 'file')`)
		dsn := testenv.PostgresDSN(t)
		_, err := storecopy.Copy(ctx, src, dsn, nil)
		if err == nil || !strings.Contains(err.Error(), "articles.draft: value 2 (int64) does not fit") {
			t.Fatalf("err = %v", err)
		}
		// Nothing was committed: the same database takes a good copy.
		if _, err := storecopy.Copy(ctx, sqliteStore(t), dsn, nil); err != nil {
			t.Fatalf("copy after a failed one: %v", err)
		}
	})
	t.Run("ErrNotEmpty", func(t *testing.T) {
		src := sqliteStore(t)
		dsn := testenv.PostgresDSN(t)
		pgExec(t, dsn, `INSERT INTO settings (key, value) VALUES ('feed_authority', 'other.org,2025')`)
		_, err := storecopy.Copy(ctx, src, dsn, nil)
		if err == nil || !strings.Contains(err.Error(), "table settings holds rows") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrColumnOnlyInPostgres", func(t *testing.T) {
		src := sqliteStore(t)
		dsn := testenv.PostgresDSN(t)
		pgExec(t, dsn, `ALTER TABLE subscribers ADD COLUMN nickname TEXT`)
		_, err := storecopy.Copy(ctx, src, dsn, nil)
		if err == nil || !strings.Contains(err.Error(), "column subscribers.nickname exists only in PostgreSQL") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrColumnOnlyInSQLite", func(t *testing.T) {
		src := sqliteStore(t, `ALTER TABLE digest_runs ADD COLUMN note TEXT`)
		_, err := storecopy.Copy(ctx, src, testenv.PostgresDSN(t), nil)
		if err == nil || !strings.Contains(err.Error(), "column digest_runs.note exists only in SQLite") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrTableOnlyInSQLite", func(t *testing.T) {
		src := sqliteStore(t, `CREATE TABLE drafts (id INTEGER PRIMARY KEY)`)
		_, err := storecopy.Copy(ctx, src, testenv.PostgresDSN(t), nil)
		if err == nil || !strings.Contains(err.Error(), "table drafts exists only in SQLite") {
			t.Fatalf("err = %v", err)
		}
	})
}
