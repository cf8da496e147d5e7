package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/testenv"
)

// wait receives from ch, failing t if nothing comes in a long while (a
// bound for a hung test, not a timing requirement).
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, open := <-ch:
		if !open {
			t.Fatalf("%s: channel closed", what)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: nothing received", what)
	}
}

// TestArticleChanges: a write through one store handle (another instance)
// reaches a listener on another, also after its connection was cut.
func TestArticleChanges(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDSN(t)
	a, b := openTest(t, dsn), openTest(t, dsn)
	put := func(slug string) {
		t.Helper()
		art := &article.Article{Slug: slug, Title: slug, Published: time.Now().Add(-time.Hour), Source: article.SourceAPI, ContentHash: slug}
		if _, err := b.UpsertArticle(ctx, art, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	ch := a.ArticleChanges(lctx)
	wait(t, ch, "listening")

	t.Run("OK", func(t *testing.T) {
		g1, err := a.ArticlesGeneration(ctx)
		if err != nil {
			t.Fatal(err)
		}
		put("one")
		wait(t, ch, "after a write by the other instance")
		g2, err := a.ArticlesGeneration(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g2 == g1 {
			t.Errorf("generation still %d after the write", g1)
		}
	})

	t.Run("Reconnect", func(t *testing.T) {
		var n int
		if err := b.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN `+changesChannel+`'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("terminated %d listening sessions, want 1", n)
		}
		wait(t, ch, "listening again") // writes while it was down were not heard
		put("two")
		wait(t, ch, "after a write once reconnected")
	})

	t.Run("Closed", func(t *testing.T) {
		cancel()
		for range ch { // drains, then ends when the channel is closed
		}
		// Close ends listeners still running.
		c := openTest(t, dsn)
		ch2 := c.ArticleChanges(ctx)
		wait(t, ch2, "listening")
		c.Close()
		if _, open := <-ch2; open {
			t.Error("channel open after Close")
		}
	})
}
