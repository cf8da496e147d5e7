package content

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store/sqlite"
)

// TestSyncKeepsArticlesOfAMissingFolder: a folder that is empty or gone
// (unmounted, a wrong content.dir on one instance) unpublishes nothing.
func TestSyncKeepsArticlesOfAMissingFolder(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		breakDir func(t *testing.T, dir string)
		want     string
	}{
		{"ErrEmpty", func(t *testing.T, dir string) {
			for _, n := range []string{"one.md", "sub/two.md"} {
				if err := os.Remove(filepath.Join(dir, n)); err != nil {
					t.Fatal(err)
				}
			}
		}, SkipEmpty},
		{"ErrMissing", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}, SkipMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st, dir := setup(t)
			write(t, dir, "one.md", art("One", ""))
			write(t, dir, "sub/two.md", art("Two", ""))
			if rep, err := s.Sync(ctx); err != nil || rep.Added != 2 {
				t.Fatalf("first sync: %v %v", rep, err)
			}
			tc.breakDir(t, dir)
			rep, err := s.Sync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Removed != 0 || rep.Skipped != tc.want {
				t.Fatalf("report %v, skipped %q; want nothing removed, skipped %q", rep, rep.Skipped, tc.want)
			}
			for _, slug := range []string{"one", "two"} {
				if a, err := st.GetArticle(ctx, slug); err != nil || a.Removed {
					t.Errorf("%s: removed %v, err %v", slug, a != nil && a.Removed, err)
				}
			}
		})
	}
	t.Run("OKEmptyFolderEmptyStore", func(t *testing.T) {
		s, _, _ := setup(t)
		if rep, err := s.Sync(ctx); err != nil || rep.Skipped != "" {
			t.Fatalf("%v %q %v", rep, rep.Skipped, err)
		}
	})
	t.Run("OKOneFileLeft", func(t *testing.T) {
		s, st, dir := setup(t)
		write(t, dir, "one.md", art("One", ""))
		write(t, dir, "two.md", art("Two", ""))
		if _, err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "two.md")); err != nil {
			t.Fatal(err)
		}
		if rep, err := s.Sync(ctx); err != nil || rep.Removed != 1 {
			t.Fatalf("%v %v", rep, err)
		}
		if a, err := st.GetArticle(ctx, "two"); err != nil || !a.Removed {
			t.Fatalf("two: %+v %v", a, err)
		}
	})
}

// TestSyncLease: two syncers on two handles of one store (two instances
// with one folder each); only the lease holder writes.
func TestSyncLease(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	var sy [2]*Syncer
	for i, holder := range []string{"A", "B"} {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		dir := t.TempDir()
		write(t, dir, "one.md", art("One "+holder, ""))
		sy[i] = NewSyncer(dir, st, time.UTC, nil)
		sy[i].Lease, sy[i].Holder = st, holder
	}
	a, b := sy[0], sy[1]
	if rep, err := a.Sync(ctx); err != nil || rep.Added != 1 {
		t.Fatalf("A: %v %v", rep, err)
	}
	t.Run("ErrHeldByAnother", func(t *testing.T) {
		rep, err := b.Sync(ctx)
		if err != nil || rep.Skipped != SkipLeased || rep.Changed() {
			t.Fatalf("B synced while A holds the lease: %v %q %v", rep, rep.Skipped, err)
		}
		got, err := b.Store.GetArticle(ctx, "one")
		if err != nil || got.Title != "One A" {
			t.Fatalf("one: %+v %v", got, err)
		}
	})
	t.Run("OKHolderRenews", func(t *testing.T) {
		if rep, err := a.Sync(ctx); err != nil || rep.Skipped != "" {
			t.Fatalf("%v %q %v", rep, rep.Skipped, err)
		}
	})
	t.Run("OKAfterRelease", func(t *testing.T) {
		if err := a.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if rep, err := b.Sync(ctx); err != nil || rep.Updated != 1 {
			t.Fatalf("B after A released: %v %v", rep, err)
		}
		if rep, err := a.Sync(ctx); err != nil || rep.Skipped != SkipLeased {
			t.Fatalf("A while B holds it: %v %q %v", rep, rep.Skipped, err)
		}
	})
	t.Run("OKMissingFolderGivesLeaseUp", func(t *testing.T) {
		if err := os.RemoveAll(b.Dir); err != nil {
			t.Fatal(err)
		}
		if rep, err := b.Sync(ctx); err != nil || rep.Skipped != SkipMissing {
			t.Fatalf("B: %v %q %v", rep, rep.Skipped, err)
		}
		if rep, err := a.Sync(ctx); err != nil || rep.Skipped != "" {
			t.Fatalf("A did not take over: %v %q %v", rep, rep.Skipped, err)
		}
	})
}
