package main

import (
	"context"
	"log/slog"

	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
)

// wireFeeds builds the feed handler and the function that refreshes it.
// Placeholder until the feed package lands: no feeds.
func wireFeeds(ctx context.Context, cfg *Config, st *sqlite.Store, log *slog.Logger) (web.Feeds, func(context.Context) error, error) {
	return nil, nil, nil
}

func cmdFeed(e *env, args []string) error {
	return usagef("", "feed: not built yet")
}
