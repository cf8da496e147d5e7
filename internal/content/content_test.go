package content

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/sqlite"
)

func setup(t *testing.T) (*Syncer, *sqlite.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewSyncer(dir, st, time.UTC, nil), st, dir
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func art(title, extra string) string {
	return "---\ntitle: " + title + "\ndate: 2026-10-01\n" + extra + "---\nBody of " + title + ".\n"
}

func TestSync(t *testing.T) {
	ctx := context.Background()
	s, st, dir := setup(t)
	write(t, dir, "2026-10-01-one.md", art("One", "tags: [a]\n"))
	write(t, dir, "sub/two.md", art("Two", ""))
	write(t, dir, "bad.md", "---\ntitle: Bad\n---\n")
	write(t, dir, ".hidden.md", art("Hidden", ""))
	write(t, dir, "_drafts/three.md", art("Three", ""))
	write(t, dir, "notes.txt", "not an article")

	rep, err := s.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 2 || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Error(), filepath.Join(dir, "bad.md")+":2: date is required") {
		t.Fatalf("first sync: %v %v", rep, rep.Errors)
	}
	if _, err := st.GetArticle(ctx, "one"); err != nil {
		t.Errorf("one: %v", err)
	}

	t.Run("UnchangedIsNoop", func(t *testing.T) {
		rep, _ := s.Sync(ctx)
		if rep.Changed() || rep.Unchanged != 2 {
			t.Errorf("%v", rep)
		}
	})
	t.Run("ChangedUpdates", func(t *testing.T) {
		write(t, dir, "2026-10-01-one.md", art("One, retitled", "tags: [a]\n"))
		rep, _ := s.Sync(ctx)
		if rep.Updated != 1 {
			t.Errorf("%v", rep)
		}
		a, _ := st.GetArticle(ctx, "one")
		if a.Title != "One, retitled" {
			t.Errorf("title %q", a.Title)
		}
	})
	t.Run("BrokenEditKeepsStored", func(t *testing.T) {
		write(t, dir, "sub/two.md", "---\ntitle: [broken\n---\n")
		rep, _ := s.Sync(ctx)
		if rep.Removed != 0 || len(rep.Errors) != 2 {
			t.Errorf("%v %v", rep, rep.Errors)
		}
		a, err := st.GetArticle(ctx, "two")
		if err != nil || a.Removed || a.Title != "Two" {
			t.Errorf("stored two: %+v %v", a, err)
		}
	})
	t.Run("RemovedFileUnpublishes", func(t *testing.T) {
		os.Remove(filepath.Join(dir, "sub/two.md"))
		rep, _ := s.Sync(ctx)
		if rep.Removed != 1 {
			t.Errorf("%v", rep)
		}
		a, _ := st.GetArticle(ctx, "two")
		if !a.Removed {
			t.Error("two still published")
		}
	})
	t.Run("OtherSourcesUntouched", func(t *testing.T) {
		api := &article.Article{Slug: "from-api", Title: "API", Published: time.Now().Add(-time.Hour), Source: article.SourceAPI}
		if _, err := st.UpsertArticle(ctx, api, time.Now()); err != nil {
			t.Fatal(err)
		}
		s.Sync(ctx)
		a, _ := st.GetArticle(ctx, "from-api")
		if a.Removed {
			t.Error("sync unpublished an API article")
		}
	})
	t.Run("DuplicateSlugBothReported", func(t *testing.T) {
		write(t, dir, "x/dup.md", art("Dup X", ""))
		write(t, dir, "y/dup.md", art("Dup Y", ""))
		rep, _ := s.Sync(ctx)
		n := 0
		for _, e := range rep.Errors {
			if strings.Contains(e.Error(), `duplicate slug "dup"`) {
				n++
			}
		}
		if n != 2 {
			t.Errorf("errors: %v", rep.Errors)
		}
		if _, err := st.GetArticle(ctx, "dup"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a duplicate was imported: %v", err)
		}
	})
	t.Run("RenameKeepsSlugAndID", func(t *testing.T) {
		before, _ := st.GetArticle(ctx, "one")
		os.Rename(filepath.Join(dir, "2026-10-01-one.md"), filepath.Join(dir, "one.md"))
		rep, _ := s.Sync(ctx)
		after, err := st.GetArticle(ctx, "one")
		if err != nil || after.Removed || after.ID != before.ID || after.SourcePath != "one.md" {
			t.Errorf("after rename: %+v %v (%v %v)", after, err, rep, rep.Errors)
		}
	})
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	s, st, dir := setup(t)
	outside := t.TempDir()
	write(t, outside, "news/2026-10-02-outside.md", art("Outside", ""))
	write(t, outside, "news/broken.md", "---\ntitle: x\ndate: 2026-10-01\nfoo: bar\n---\n")
	write(t, dir, "inside.md", art("Inside", ""))

	rep, err := s.Import(ctx, []string{filepath.Join(outside, "news"), filepath.Join(dir, "inside.md")}, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 2 || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Error(), "broken.md:4: unknown front matter key") {
		t.Fatalf("dry run: %v %v", rep, rep.Errors)
	}
	if n, _ := st.CountArticles(ctx, article.Query{}); n != 0 {
		t.Fatalf("dry run wrote %d articles", n)
	}
	rep, err = s.Import(ctx, []string{filepath.Join(outside, "news"), filepath.Join(dir, "inside.md")}, false)
	if err != nil || rep.Added != 2 {
		t.Fatalf("import: %v %v %v", rep, rep.Errors, err)
	}
	out, _ := st.GetArticle(ctx, "outside")
	in, _ := st.GetArticle(ctx, "inside")
	if out.Source != article.SourceImport || in.Source != article.SourceFile || in.SourcePath != "inside.md" {
		t.Errorf("sources: %q %q %q", out.Source, in.Source, in.SourcePath)
	}
	// The content sync agrees with an import of its own files and leaves others alone.
	rep, _ = s.Sync(ctx)
	if rep.Changed() {
		t.Errorf("sync after import changed: %v", rep)
	}
	if a, _ := st.GetArticle(ctx, "outside"); a.Removed {
		t.Error("sync removed an imported article")
	}
	rep, _ = s.Import(ctx, []string{filepath.Join(outside, "news", "2026-10-02-outside.md")}, false)
	if rep.Unchanged != 1 {
		t.Errorf("re-import: %v", rep)
	}
}

func TestWatch(t *testing.T) {
	s, st, dir := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	synced := make(chan Report, 10)
	go func() {
		s.Watch(ctx, time.Hour, func(r Report) { synced <- r })
		close(done)
	}()
	time.Sleep(100 * time.Millisecond) // let the watch start
	write(t, dir, "new.md", art("New", ""))
	select {
	case r := <-synced:
		if r.Added != 1 {
			t.Errorf("report %v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no sync after a file was added")
	}
	if _, err := st.GetArticle(context.Background(), "new"); err != nil {
		t.Error(err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not stop on cancel")
	}
}
