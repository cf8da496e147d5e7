package backend_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/store/backend"
	"github.com/herald-news/herald/internal/testenv"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("OKSQLite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h.db")
		st, err := backend.Open(ctx, "sqlite", path, true)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		have, want, err := st.SchemaCurrent(ctx)
		if err != nil || have != want || want == 0 {
			t.Errorf("SchemaCurrent = %d, %d, %v: want equal and set", have, want, err)
		}
		if _, ok := st.(backend.Backuper); !ok {
			t.Error("the SQLite store offers no Backup")
		}
	})
	t.Run("ErrNoStore", func(t *testing.T) {
		_, err := backend.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "none.db"), false)
		if !errors.Is(err, backend.ErrNoStore) {
			t.Errorf("err = %v, want ErrNoStore", err)
		}
	})
	t.Run("ErrUnknownDriver", func(t *testing.T) {
		_, err := backend.Open(ctx, "mysql", "x", true)
		if err == nil || !strings.Contains(err.Error(), `unknown store driver "mysql"`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("OKPostgres", func(t *testing.T) {
		dsn := testenv.PostgresDSN(t)
		st, err := backend.Open(ctx, "postgres", dsn, true)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		have, want, err := st.SchemaCurrent(ctx)
		if err != nil || have != want || want == 0 {
			t.Errorf("SchemaCurrent = %d, %d, %v: want equal and set", have, want, err)
		}
		if st.Path() != dsn {
			t.Errorf("Path = %q, want %q", st.Path(), dsn)
		}
		if _, ok := st.(backend.Backuper); ok {
			t.Error("the PostgreSQL store offers a file Backup")
		}
		again, err := backend.Open(ctx, "postgres", dsn, false)
		if err != nil {
			t.Fatalf("Open without create on a migrated database: %v", err)
		}
		again.Close()
	})
	t.Run("ErrNoStorePostgres", func(t *testing.T) {
		_, err := backend.Open(ctx, "postgres", testenv.PostgresDSN(t), false)
		if !errors.Is(err, backend.ErrNoStore) {
			t.Errorf("err = %v, want ErrNoStore", err)
		}
	})
	t.Run("ErrRestoreNoFiles", func(t *testing.T) {
		err := backend.Restore(ctx, "postgres", "postgres://herald:hunter2@db/herald?sslmode=require", "/backups/herald.dump")
		want := "pg_restore --clean --if-exists --dbname='postgres://herald@db/herald?sslmode=require' /backups/herald.dump"
		if err == nil || !strings.Contains(err.Error(), "has no file restore") || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the message quotes the password: %v", err)
		}
	})
	t.Run("ErrBackupNoFiles", func(t *testing.T) {
		dsn := testenv.PostgresDSN(t)
		st, err := backend.Open(ctx, "postgres", dsn, true)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		err = backend.Backup(ctx, st, "postgres", dsn, "/backups/my dump")
		want := "pg_dump --format=custom --file='/backups/my dump' '" + dsn + "'"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	})
}

func TestName(t *testing.T) {
	abs, err := filepath.Abs("h.db")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, driver, dsn, want string
	}{
		{"OKSQLiteAbsolute", "sqlite", "h.db", abs},
		{"OKPostgresNoPassword", "postgres", "postgres://herald:hunter2@db:5432/herald?sslmode=require", "postgres://herald@db:5432/herald?sslmode=require"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := backend.Name(tt.driver, tt.dsn); got != tt.want {
				t.Errorf("Name = %q, want %q", got, tt.want)
			}
		})
	}
}
