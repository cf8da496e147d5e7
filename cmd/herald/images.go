package main

import (
	"log/slog"

	"github.com/herald-news/herald/internal/imagefetch"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store/backend"
)

// newKeeper keeps the remote images of articles in the media store, as
// content.images says (docs/ARCHITECTURE.md, "Remote images").
func newKeeper(cfg *Config, st backend.Store, log *slog.Logger) *imagefetch.Keeper {
	ic := cfg.Content.Images
	return &imagefetch.Keeper{
		Fetcher: imagefetch.New(imagefetch.Options{Timeout: ic.Timeout.D(), MaxBytes: int64(ic.MaxBytes), AllowPrivate: ic.AllowPrivate}),
		Media:   &media.Service{Store: st, Limit: int64(ic.MaxBytes)},
		Store:   st,
		Log:     log,
	}
}
