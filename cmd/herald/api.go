package main

import (
	"context"
	"log/slog"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/dashboard"
	"github.com/herald-news/herald/internal/store/backend"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/web"
)

// apiConfig wires the admin API: the tokens of admin.tokens, the store,
// the digest service (when newsletters are configured), and the content folder's parser, so API articles are validated and
// sanitised as files are. With no token set the API is off (404).
func apiConfig(cfg *Config, st backend.Store, p *article.Parser, subs *subscribe.Service, dg *digestRunner, im imageServices, log *slog.Logger) *web.APIConfig {
	var tokens []web.APIToken
	for _, t := range cfg.Admin.Tokens {
		if t.Token != "" {
			tokens = append(tokens, web.APIToken{Name: t.Name, Token: t.Token})
		}
	}
	if len(tokens) == 0 {
		log.Info("admin API off: no admin.tokens set (HERALD_ADMIN_TOKEN sets the one named default)")
	}
	ac := &web.APIConfig{Tokens: tokens, Store: st, Parser: p, Audit: st, MaxUpload: int64(cfg.Admin.MaxUpload),
		Media: im.media, Images: im.keeper}
	if subs != nil {
		ac.Subscribers = apiSubscribers{subs, st}
	}
	if keys, err := tokenKeys(context.Background(), cfg, st); err == nil {
		ac.Suppressions = apiSuppressions{storeSuppression{st, suppressionHasher{keys}}}
	} else {
		log.Warn("suppression list API off: no token key", slog.Any("err", err))
	}
	if dg != nil {
		// Manual runs planned through the API are delivered by this
		// process's workers (SendNow wakes them).
		ac.Digest = dg.svc
	}
	return ac
}

// apiSubscribers is the subscribe service plus the store's paged search:
// what the API's subscriber endpoints use.
type apiSubscribers struct {
	*subscribe.Service
	st backend.Store
}

func (a apiSubscribers) Search(ctx context.Context, f subscribe.Filter, q string, afterID int64, limit int) ([]*subscribe.Subscriber, error) {
	f.Query = q
	f, err := a.CheckFilter(f)
	if err != nil {
		return nil, err
	}
	return a.st.SearchSubscribers(ctx, f, afterID, limit)
}

// adminConfig wires the admin web UI (/admin/): sessions and accounts in
// the store, timeouts and two-factor policy from admin.*, the editor with
// the content folder's parser p, the newsletter pages with dg, the
// subscriber pages with subs and the dashboard with dash.
func adminConfig(cfg *Config, st backend.Store, dg *digestRunner, subs *subscribe.Service, dash *dashboard.Service, p *article.Parser, im imageServices) *web.AdminConfig {
	ac := &web.AdminConfig{Store: st, SessionIdle: cfg.Admin.SessionIdle.D(), SessionMax: cfg.Admin.SessionMax.D(),
		Require2FA: cfg.Admin.Require2FA,
		// The editor's pages: the same newsroom and media services as the API.
		Articles: st, Parser: p, Media: im.media,
		MaxUpload: int64(cfg.Admin.MaxUpload), Images: im.keeper}
	if dg != nil {
		// Sends and run control from the pages go through this process's
		// digest service, as the API's do.
		ac.Digest, ac.Audience = dg.svc, audience{st}
	}
	if subs != nil {
		ac.Subscribers = subs
	}
	if dash != nil { // a nil *Service in the interface would not be nil
		ac.Dashboard = dash
	}
	return ac
}

// audience counts a newsletter's active subscribers: those a run planned
// now gets a delivery for.
type audience struct{ st backend.Store }

func (a audience) Recipients(ctx context.Context, newsletter string) (int, error) {
	return a.st.CountSubscribers(ctx, subscribe.Filter{Status: subscribe.StatusActive, Newsletter: newsletter})
}
