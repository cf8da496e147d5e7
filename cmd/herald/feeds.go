package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/store/backend"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/internal/websub"
)

// newFeedHandler builds the feed handler from the config: serve and
// `herald feed` share it, so both give the same bytes.
func newFeedHandler(cfg *Config, st backend.Store, log *slog.Logger, onServe func(feed.CacheResult)) *feed.Handler {
	return feed.NewHandler(st, feed.Site{
		Title:       cfg.Site.Title,
		Description: cfg.Site.Description,
		BaseURL:     cfg.Site.BaseURL,
		Language:    cfg.Site.Language,
		Author:      cfg.Site.Author,
		Hubs:        cfg.WebSub.Hubs,
	}, feed.Options{
		Items:          cfg.Feed.Items,
		MaxItems:       cfg.Feed.MaxItems,
		CacheControl:   cfg.HTTP.CacheControl,
		AllowedOrigins: cfg.Embed.AllowedOrigins,
		Logger:         log,
		OnServe:        onServe,
	})
}

// feedRoutes adapts the feed handler to the web server's Feeds.
type feedRoutes struct{ h *feed.Handler }

func (f feedRoutes) SiteFeed(format string) http.Handler { return f.h.Site(feed.Format(format)) }
func (f feedRoutes) TagFeed(format string) http.Handler  { return f.h.Tag(feed.Format(format)) }

// wireFeeds builds the feed handler and the refresh that serve runs when
// the store changes: re-render the main variants, then ping WebSub hubs
// for the feeds whose bytes changed (serve owns pings; see
// docs/ARCHITECTURE.md, "Serve data flow").
func wireFeeds(ctx context.Context, cfg *Config, st backend.Store, log *slog.Logger, bg context.Context, wg interface{ Go(func()) }, onServe func(feed.CacheResult)) (web.Feeds, func(context.Context) error, error) {
	h := newFeedHandler(cfg, st, log, onServe)
	if _, err := h.Refresh(ctx); err != nil {
		return nil, nil, fmt.Errorf("feeds: %w", err)
	}
	var pub *websub.Publisher
	if len(cfg.WebSub.Hubs) > 0 {
		pub = websub.NewPublisher(cfg.WebSub.Hubs, &http.Client{Timeout: 30 * time.Second}, log)
		wg.Go(func() { pub.Run(bg) })
	}
	refresh := func(ctx context.Context) error {
		changed, err := h.RefreshChanges(ctx)
		if err != nil {
			return err
		}
		if len(changed) > 0 {
			log.Info("feeds refreshed", slog.Int("changed", len(changed)))
			if pub != nil {
				pub.Publish(claimPings(ctx, st, changed, log))
			}
		}
		return nil
	}
	return feedRoutes{h}, refresh, nil
}

// claimPings returns the URLs of the changed feeds this instance is to
// announce: every instance sharing the store renders the same bytes and
// sees the same change, and the store lets one of them claim each (feed,
// ETag) so hubs get one ping per change (docs/ARCHITECTURE.md, "Leases and
// slots"). A feed whose claim fails is announced anyway: a second ping
// costs a hub one fetch, a missing one loses the update.
func claimPings(ctx context.Context, st backend.Store, changed []feed.Change, log *slog.Logger) []string {
	var topics []string
	now := time.Now()
	for _, c := range changed {
		won, err := st.ClaimPing(ctx, c.URL, c.ETag, now)
		if err != nil {
			log.Warn("websub: claiming the ping failed; pinging anyway", slog.String("topic", c.URL), slog.Any("err", err))
			won = true
		}
		if won {
			topics = append(topics, c.URL)
		}
	}
	return topics
}

const feedUsage = "herald feed [--format rss|atom|json] [--tag NAME-OR-SLUG] [--limit N]"

func cmdFeed(e *env, args []string) error {
	var format, tag string
	var limit int
	rest, err := e.flags("feed", feedUsage, func(fs *flag.FlagSet) {
		fs.StringVar(&format, "format", "atom", "rss, atom or json")
		fs.StringVar(&tag, "tag", "", "a tag's name or slug")
		fs.IntVar(&limit, "limit", 0, "items (default feed.items)")
	}, args)
	if err != nil {
		return helpOK(err)
	}
	if len(rest) > 0 {
		return usagef("usage: "+feedUsage, "feed: unexpected argument %q", rest[0])
	}
	f := feed.Format(format)
	if !f.Valid() {
		return usagef("usage: "+feedUsage, "feed: --format must be rss, atom or json, got %q", format)
	}
	cfg, _, err := e.loadConfig()
	if err != nil {
		return err
	}
	if limit < 0 || limit > cfg.Feed.MaxItems {
		return usagef("usage: "+feedUsage, "feed: --limit must be 1 to %d (feed.max_items)", cfg.Feed.MaxItems)
	}
	st, err := openExistingStore(e.ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	h := newFeedHandler(cfg, st, slog.New(slog.DiscardHandler), nil)
	b, err := h.Bytes(e.ctx, feed.Variant{Format: f, Tag: tag, Limit: limit})
	if err != nil {
		return err // the feed package's errors say "feed: " already
	}
	_, err = e.stdout.Write(b)
	return err
}
