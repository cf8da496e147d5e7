package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/backend"
	"github.com/herald-news/herald/internal/testenv"
)

// TestWatchStoreHearsNotifications: with PostgreSQL, serve's store watcher
// refreshes on a write by another instance when it is notified, not at
// its next poll: here polling is an hour apart, so only the notification
// can bring the refresh. Before, the watcher only polled.
func TestWatchStoreHearsNotifications(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDSN(t)
	open := func() backend.Store {
		st, err := backend.Open(ctx, "postgres", dsn, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	writer, watched := open(), open()
	refreshed := make(chan struct{}, 8)
	d := &daemon{store: watched, log: slog.New(slog.DiscardHandler), refresh: func(context.Context) error {
		refreshed <- struct{}{}
		return nil
	}}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.watchStore(wctx, time.Hour)
	}()
	defer func() { cancel(); <-done }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-refreshed:
		case <-time.After(10 * time.Second): // a bound on a hang, not a measure
			t.Fatalf("no refresh: %s", what)
		}
	}
	wait("when listening starts") // writes before it were not heard: compare once
	a := &article.Article{Slug: "elsewhere", Title: "Written elsewhere", Published: time.Now().Add(-time.Hour),
		Source: article.SourceAPI, ContentHash: "x"}
	if _, err := writer.UpsertArticle(ctx, a, time.Now()); err != nil {
		t.Fatal(err)
	}
	wait("after another instance's write")
}
