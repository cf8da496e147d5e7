package backend_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/store/backend"
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
	t.Run("ErrRestoreNoFiles", func(t *testing.T) {
		err := backend.Restore(ctx, "postgres", "postgres://db/herald", filepath.Join(t.TempDir(), "b.db"))
		if err == nil || !strings.Contains(err.Error(), "has no file restore") {
			t.Errorf("err = %v", err)
		}
	})
}
