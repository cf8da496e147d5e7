package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/herald-news/herald/internal/confined"
	"github.com/herald-news/herald/internal/imagefetch"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store/backend"
)

// newMedia is the media service of a process: the uploads of the API and
// the admin editor, and the images kept of articles (docs/ARCHITECTURE.md,
// "Media").
func newMedia(cfg *Config, st backend.Store) *media.Service {
	return &media.Service{Store: st, Limit: int64(cfg.Admin.MaxUpload)}
}

// imageServices are the one media service and image keeper a process
// shares between its API, admin UI and content syncer.
type imageServices struct {
	media  *media.Service
	keeper *imagefetch.Keeper
}

func newImageServices(cfg *Config, st backend.Store, log *slog.Logger) imageServices {
	m := newMedia(cfg, st)
	return imageServices{media: m, keeper: newKeeper(cfg, st, m, log)}
}

// newKeeper keeps the images of articles in the media store, as
// content.images says: remote ones fetched, uploads and content-folder
// files cut (docs/ARCHITECTURE.md, "Remote images").
func newKeeper(cfg *Config, st backend.Store, m *media.Service, log *slog.Logger) *imagefetch.Keeper {
	ic := cfg.Content.Images
	k := &imagefetch.Keeper{
		Fetcher: imagefetch.New(imagefetch.Options{Timeout: ic.Timeout.D(), MaxBytes: int64(ic.MaxBytes), AllowPrivate: ic.AllowPrivate}),
		Media:   m,
		Store:   st,
		Pause:   ic.retry,
		Log:     log,
	}
	if cfg.Content.Dir != "" {
		k.Content = confined.FS(cfg.Content.Dir)
	}
	return k
}

// keepImages retries the images articles still lack every interval (a
// minute unless a test says otherwise) until ctx ends: serve runs it when
// no watched content folder's syncs do it. Keeping is idempotent, so each
// instance sharing a store may run it.
func keepImages(ctx context.Context, k *imagefetch.Keeper, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, failed, err := k.KeepPending(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("keeping article images failed", slog.Any("err", err))
		case n > 0 || len(failed) > 0:
			log.Info("article images", slog.Int("kept", n), slog.Int("missing", len(failed)))
		}
	}
}
