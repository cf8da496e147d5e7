package web

import "net/http"

// routes lists every route of the site surface in one place. Other
// surfaces (subscribe, embed, admin API) add theirs through Config.Extra.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /articles/{slug}", s.handleArticle)
	mux.HandleFunc("GET /tags/{slug}", s.handleTag)
	mux.HandleFunc("GET /feeds", s.handleFeeds)
	mux.HandleFunc("GET /media/{path...}", s.handleMedia)
	mux.HandleFunc("GET /media/u/{file...}", s.handleUpload)
	mux.HandleFunc("GET /assets/{name}", s.handleAsset)
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	if s.cfg.Metrics != nil {
		// Metrics tell who subscribes (a new address moves the counts):
		// private to this machine unless metrics.public.
		if s.cfg.MetricsPublic {
			mux.Handle("GET /metrics", s.cfg.Metrics)
		} else {
			mux.Handle("GET /metrics", s.loopbackOnly(s.cfg.Metrics))
		}
	}

	// Partner-site embed (embed.go): builder, loader, versioned bundle, no-script frame.
	mux.HandleFunc("GET /embed", s.handleEmbedBuilder)
	mux.HandleFunc("GET /embed.js", s.handleEmbedLoader)
	mux.HandleFunc("GET /embed/v/{file}", s.handleEmbedBundle)
	mux.HandleFunc("GET /embed/frame", s.handleEmbedFrame)

	if s.cfg.Feeds != nil {
		for _, f := range []string{"rss", "atom", "json"} {
			mux.Handle("GET /feed."+f, s.cfg.Feeds.SiteFeed(f))
			mux.Handle("OPTIONS /feed."+f, s.cfg.Feeds.SiteFeed(f))
			mux.Handle("GET /tags/{slug}/feed."+f, s.cfg.Feeds.TagFeed(f))
			mux.Handle("OPTIONS /tags/{slug}/feed."+f, s.cfg.Feeds.TagFeed(f))
		}
	}
	if s.cfg.Archive != nil {
		mux.HandleFunc("GET /newsletters", s.handleNewsletters)
		mux.HandleFunc("GET /newsletters/{newsletter}/{run}", s.handleNewsletterRun)
		mux.HandleFunc("GET /newsletters/{newsletter}/{run}/{variant}", s.handleNewsletterRun)
		mux.HandleFunc("GET /newsletters/{newsletter}/test", s.handleNewsletterTest)
	}
	if s.cfg.Subscribe != nil {
		s.subscribeRoutes(mux)
	}
	if s.cfg.API != nil {
		// The admin API: its routes are the table apiRoutes (api_routes.go).
		newAPI(*s.cfg.API, s.cfg.Site, s.log, s.cfg.Now, s.clientIP).register(mux.Handle)
	}
	if s.admin != nil {
		// The admin web UI: its routes are the table adminRoutes (admin_routes.go).
		s.admin.register(mux)
	}
	if s.cfg.BounceWebhook != nil {
		// Bounce and complaint events from mail providers (bounces.webhooks).
		mux.HandleFunc("POST /webhooks/bounces/{provider}", func(w http.ResponseWriter, r *http.Request) {
			h := s.cfg.BounceWebhook(r.PathValue("provider"))
			if h == nil {
				s.fail(w, r, Errorf(http.StatusNotFound, "No bounce webhook is configured for this provider."))
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, keyErr(http.StatusNotFound, "error.not_found"))
	})
}
