package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// TestStoreDriver: store.driver accepts sqlite and postgres; a PostgreSQL
// DSN is a URL, kept as written rather than resolved against the config
// file's folder.
func TestStoreDriver(t *testing.T) {
	const dsn = "postgres://herald@127.0.0.1:1/herald?sslmode=disable"
	t.Run("OKPostgres", func(t *testing.T) {
		for _, d := range []string{dsn, "postgresql://herald@db/herald"} {
			cfg, err := LoadConfig(writeConfig(t, "store:\n  driver: postgres\n  dsn: "+d+"\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Store.DSN != d {
				t.Errorf("dsn = %q, want %q as written", cfg.Store.DSN, d)
			}
		}
	})
	t.Run("OKPostgresKeywordDSNNotAPath", func(t *testing.T) {
		// Even a DSN Validate refuses is not joined to the folder first:
		// the message must quote neither a path nor the secret.
		_, err := LoadConfig(writeConfig(t, "store:\n  driver: postgres\n  dsn: host=db password=hunter2\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "store.dsn: store.driver postgres needs a postgres:// or postgresql:// URL") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the message quotes the password: %v", err)
		}
	})
	t.Run("ErrDriver", func(t *testing.T) {
		_, err := LoadConfig(writeConfig(t, "store:\n  driver: mysql\n"), nil)
		if err == nil || !strings.Contains(err.Error(), `store.driver: unsupported driver "mysql" (supported: sqlite, postgres)`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrPostgresPathDSN", func(t *testing.T) {
		_, err := LoadConfig(writeConfig(t, "store:\n  driver: postgres\n  dsn: data/herald.db\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "store.dsn: store.driver postgres needs a postgres://") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OKSQLiteRelative", func(t *testing.T) {
		p := writeConfig(t, "store:\n  driver: sqlite\n  dsn: data/h.db\n")
		cfg, err := LoadConfig(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(filepath.Dir(p), "data", "h.db"); cfg.Store.DSN != want {
			t.Errorf("dsn = %q, want %q", cfg.Store.DSN, want)
		}
	})
}

// TestStoreDriverPostgres: with store.driver postgres the commands run on
// PostgreSQL: import then feed answer from the database; a command that
// only reads refuses a database Herald never migrated, naming the DSN
// without its password and creating nothing; backup and restore, which
// PostgreSQL's own tools do, are refused with the exact command to run.
func TestStoreDriverPostgres(t *testing.T) {
	examples, err := filepath.Abs("../../examples/articles")
	if err != nil {
		t.Fatal(err)
	}
	// withPassword puts a password into dsn (the test server trusts
	// local connections and ignores it): no message may quote it.
	withPassword := func(t *testing.T, dsn string) (withPass, shown string) {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		shown = u.String()
		u.User = url.UserPassword(u.User.Username(), "hunter2")
		return u.String(), shown
	}
	config := func(t *testing.T, dsn string) string {
		dir := t.TempDir()
		return writeConfig(t, "store: {driver: postgres, dsn: \""+dsn+"\"}\n"+
			"content: {dir: \""+filepath.Join(dir, "content")+"\", watch: false}\n"+
			"mail: {outbox_dir: \""+filepath.Join(dir, "outbox")+"\"}\n")
	}
	noPassword := func(t *testing.T, out string) {
		t.Helper()
		if strings.Contains(out, "hunter2") {
			t.Errorf("the output quotes the password: %s", out)
		}
	}

	dsn, shown := withPassword(t, testenv.PostgresDSN(t))
	cfg := config(t, dsn)
	t.Run("OKImportFeed", func(t *testing.T) {
		code, out, stderr := runCLI(t, nil, "--config", cfg, "import", examples)
		if code != 0 || !strings.Contains(out, " added, ") || strings.HasPrefix(out, "0 added") {
			t.Fatalf("import: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
		code, out, stderr = runCLI(t, nil, "--config", cfg, "feed", "--format", "rss")
		if code != 0 || !strings.Contains(out, "<rss") || !strings.Contains(out, "/articles/harbour-workshop-arhus") {
			t.Fatalf("feed: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
	})
	t.Run("ErrBackup", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "herald.dump")
		code, _, stderr := runCLI(t, nil, "--config", cfg, "backup", file)
		want := "pg_dump --format=custom --file=" + file + " '" + shown + "'"
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr %q, want it to contain %q", code, stderr, want)
		}
		noPassword(t, stderr)
		if _, err := os.Stat(file); err == nil {
			t.Error("backup wrote a file")
		}
	})
	t.Run("ErrRestore", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "herald.dump")
		os.WriteFile(file, []byte("not a dump"), 0o644)
		code, _, stderr := runCLI(t, nil, "--config", cfg, "restore", file)
		want := "pg_restore --clean --if-exists --dbname='" + shown + "' " + file
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr %q, want it to contain %q", code, stderr, want)
		}
		noPassword(t, stderr)
		// The store is untouched.
		if code, out, _ := runCLI(t, nil, "--config", cfg, "feed"); code != 0 || !strings.Contains(out, "harbour-workshop-arhus") {
			t.Errorf("feed after the refused restore: exit %d", code)
		}
	})
	t.Run("ErrNoStore", func(t *testing.T) {
		empty, shown := withPassword(t, testenv.PostgresDSN(t))
		cfg := config(t, empty)
		for _, args := range [][]string{{"subscribers", "list"}, {"feed"}} {
			code, _, stderr := runCLI(t, nil, append([]string{"--config", cfg}, args...)...)
			want := "store.dsn: no store at " + shown + ": check --config and store.dsn"
			if code != 1 || !strings.Contains(stderr, want) {
				t.Errorf("%s: exit %d, stderr %q, want it to contain %q", args, code, stderr, want)
			}
			noPassword(t, stderr)
		}
		// Nothing was created: the database holds no table.
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, empty)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var tables int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
			t.Errorf("the empty database now holds %d tables (%v)", tables, err)
		}
	})
}
