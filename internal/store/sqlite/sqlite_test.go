package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/store/storetest"
)

func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestArticles(t *testing.T) {
	storetest.RunArticles(t, func(t *testing.T) storetest.ArticleStore { return open(t) })
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != sqlite.LatestVersion() {
		t.Errorf("version = %d (%v), want %d", v, err, sqlite.LatestVersion())
	}
	s.Close()
	// Reopening applies nothing twice.
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ExecForTest(ctx, `INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlite.Open(ctx, path)
	if !errors.Is(err, store.ErrTooNew) {
		t.Errorf("err = %v, want ErrTooNew", err)
	}
}

func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "h.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := &article.Article{Slug: "kept", Title: "Kept", Published: time.Now().Add(-time.Hour), Source: article.SourceAPI}
	if _, err := s.UpsertArticle(ctx, a, time.Now()); err != nil {
		t.Fatal(err)
	}
	bak := filepath.Join(dir, "backups", "h.bak")
	if err := s.Backup(ctx, bak); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, bak); err == nil {
		t.Error("backup over an existing file succeeded")
	}
	s.DeleteArticle(ctx, "kept")
	// Refused while a process has the store open.
	if err := sqlite.Restore(ctx, path, bak); !errors.Is(err, sqlite.ErrInUse) {
		t.Errorf("restore while open: %v", err)
	}
	s.Close()
	if err := sqlite.Restore(ctx, path, filepath.Join(dir, "nope")); err == nil {
		t.Error("restore of a missing file succeeded")
	}
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("not a database"), 0o644)
	if err := sqlite.Restore(ctx, path, junk); err == nil {
		t.Error("restore of junk succeeded")
	}
	if err := sqlite.Restore(ctx, path, bak); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetArticle(ctx, "kept"); err != nil {
		t.Errorf("restored store lacks the article: %v", err)
	}
}
