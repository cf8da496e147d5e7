package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/dashboard"
	"github.com/herald-news/herald/internal/store/backend"
)

// newDashboard builds the admin dashboard's service from the
// configuration: what serve keeps the daily subscriber counts with, and
// what the admin pages load.
func newDashboard(cfg *Config, st backend.Store, log *slog.Logger) (*dashboard.Service, error) {
	var nls []digest.Newsletter
	for i, n := range cfg.Newsletters {
		loc, err := time.LoadLocation(n.Timezone)
		if err != nil {
			return nil, fmt.Errorf("newsletters[%d].timezone: %w", i, err)
		}
		nls = append(nls, digest.Newsletter{ID: n.ID, Title: n.Title, Schedule: n.Schedule, Location: loc})
	}
	return dashboard.New(dashboard.Config{Store: st, Newsletters: nls, BaseURL: cfg.Site.BaseURL,
		DKIM: cfg.Mail.DKIM.Domain != "" && cfg.Mail.DKIM.KeyFile != "", Logger: log})
}
