package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreDriver: store.driver accepts sqlite and postgres; a PostgreSQL
// DSN is a URL, kept as written rather than resolved against the config
// file's folder, and a store a binary cannot open fails with a clear
// message, never a fresh SQLite file named like the URL.
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
	t.Run("ErrOpenUnbuilt", func(t *testing.T) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "config.yaml")
		os.WriteFile(cfg, []byte("store: {driver: postgres, dsn: \""+dsn+"\"}\ncontent: {watch: false}\n"), 0o644)
		for _, args := range [][]string{{"subscribers", "list"}, {"subscribers", "add", "a@example.org"}} {
			code, _, stderr := runCLI(t, nil, append([]string{"--config", cfg}, args...)...)
			if code != 1 || !strings.Contains(stderr, "postgres backend not built yet") {
				t.Errorf("%s: exit %d, stderr %q", args, code, stderr)
			}
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("the folder holds %d entries, want only the config: a file store was made", len(entries))
		}
	})
}
