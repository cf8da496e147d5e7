package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/herald-news/herald/internal/content"
	"github.com/herald-news/herald/internal/store/backend"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

func cmdServe(e *env, args []string) error {
	if _, err := e.flags("serve", "herald serve [--config FILE]", nil, args); err != nil {
		return helpOK(err)
	}
	cfg, path, err := e.loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(cfg, e.stderr)
	if path == "" {
		path = "built-in defaults"
	}
	log.Info("starting herald", slog.String("config", path))
	d, err := startDaemonOut(e.ctx, cfg, log, e.stderr)
	if err != nil {
		return err
	}
	<-e.ctx.Done()
	log.Info("shutting down")
	return d.Close()
}

// daemon is a running `herald serve`: started by startDaemon, stopped by
// Close, so tests can run it in-process on port 0.
type daemon struct {
	cfg    *Config
	log    *slog.Logger
	store  backend.Store
	syncer *content.Syncer
	http   *http.Server
	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup
	web    *web.Server
	digest *digestRunner  // schedules and delivery workers (digest.go)
	obs    *daemonMetrics // metrics.go
	access *web.AccessLog // nil: log.access off
	bounce *bounceWiring  // bounces.go: webhooks and the inbound listener
	// refresh is set by the feed wiring: it re-renders what changed.
	refresh func(ctx context.Context) error
}

// reload re-reads templates and rescans the content folder (SIGHUP),
// without dropping a connection.
func (d *daemon) reload(ctx context.Context) {
	if err := d.web.ReloadTemplates(); err != nil {
		d.log.Error("template reload failed; keeping the old templates", slog.Any("err", err))
	} else {
		d.log.Info("templates reloaded")
	}
	if d.cfg.Content.Dir != "" {
		if _, err := d.syncer.SyncLogged(ctx); err != nil {
			d.log.Error("content rescan failed", slog.Any("err", err))
		}
	}
}

// Addr is the address the daemon listens on.
func (d *daemon) Addr() string { return d.ln.Addr().String() }

// startDaemon starts serve with its access log (if on) discarded.
func startDaemon(ctx context.Context, cfg *Config, log *slog.Logger) (*daemon, error) {
	return startDaemonOut(ctx, cfg, log, io.Discard)
}

// startDaemonOut starts serve, writing the access log (log.access) to
// accessOut: serve gives it the logger's output, stderr.
func startDaemonOut(ctx context.Context, cfg *Config, log *slog.Logger, accessOut io.Writer) (*daemon, error) {
	// Listen first: links may follow the address actually bound (port 0).
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return nil, fmt.Errorf("http.listen: %w", err)
	}
	if cfg.BaseURLFromListen() {
		if cfg.Site.BaseURL == DefaultConfig().Site.BaseURL { // port 0: known only now
			c := *cfg
			c.Site.BaseURL, _ = listenURL(ln.Addr().String())
			cfg = &c
		}
		log.Warn("site.base_url is not set and http.listen is not the default: links use the listen address; set site.base_url (HERALD_SITE_BASE_URL) to the address readers reach",
			slog.String("http.listen", cfg.HTTP.Listen), slog.String("base_url", cfg.Site.BaseURL))
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	d := &daemon{cfg: cfg, log: log, store: st, ln: ln}
	if cfg.Log.Access {
		d.access = web.NewAccessLog(accessOut, cfg.Log.Format == "json")
	}
	bg, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	fail := func(err error) (*daemon, error) {
		if d.syncer != nil {
			_ = d.syncer.Release(ctx) // at worst it expires
		}
		d.digest.Close()
		d.obs.Close(context.Background())
		cancel()
		ln.Close()
		st.Close()
		return nil, err
	}
	if err := recordServingKeys(ctx, cfg, st, log); err != nil {
		return fail(err)
	}
	loc := siteLocation(cfg)
	images := newImageServices(cfg, st, log)
	d.syncer = newSyncer(cfg, st, images.keeper, log)
	if cfg.Content.Dir != "" {
		if !fileExists(cfg.Content.Dir) {
			log.Warn("content folder does not exist; nothing to sync", slog.String("dir", cfg.Content.Dir))
		} else if _, err := d.syncer.SyncLogged(ctx); err != nil {
			return fail(err)
		}
	}
	if d.obs, err = startMetrics(cfg, st, log); err != nil {
		return fail(err)
	}
	if d.access != nil {
		d.obs.countAccessLogDrops(d.access)
	}
	feeds, refresh, err := wireFeeds(ctx, cfg, st, log, bg, &d.wg, d.obs.onFeedServe)
	if err != nil {
		return fail(err)
	}
	d.refresh = refresh
	if d.digest, err = startDigest(bg, cfg, st, log, d.obs); err != nil {
		return fail(err)
	}
	subs, subsCleanup, err := startSubscribers(ctx, cfg, st, log, d.obs.wrapSender(cfg.Mail.Transport))
	if err != nil {
		return fail(err)
	}
	keys, err := tokenKeys(ctx, cfg, st)
	if err != nil {
		return fail(err)
	}
	bounces, err := startBounces(ctx, cfg, st, keys, log, d.obs.registerer())
	if err != nil {
		return fail(err)
	}
	d.bounce = bounces
	if bounces.ln != nil {
		d.wg.Go(func() { bounces.serve(bg, log) }) // until shutdown cancels bg
	}
	dash, err := newDashboard(cfg, st, log)
	if err != nil {
		log.Error("dashboard off", slog.Any("err", err))
	}
	handler, err := web.New(web.Config{
		BounceWebhook: bounces.provider,
		ReadyWarnings: bounces.handler.readyWarnings,
		Subscribe:     subscribeWeb(cfg, subs, st),
		ReadyChecks: map[string]func(context.Context) error{
			"store":     st.Ping,
			"scheduler": d.digest.Running,
			"delivery":  d.digest.Delivering,
			"migrations": func(ctx context.Context) error {
				have, want, err := st.SchemaCurrent(ctx)
				if err == nil && have != want {
					err = fmt.Errorf("schema version %d, binary wants %d", have, want)
				}
				return err
			},
		},
		Site: web.Site{Title: cfg.Site.Title, Description: cfg.Site.Description, BaseURL: cfg.Site.BaseURL,
			Language: cfg.Site.Language, Address: cfg.Site.Address, Location: loc},
		Store:            st,
		Feeds:            feeds,
		Templates:        templates.FS(cfg.Templates.Dir),
		Languages:        cfg.Site.Languages,
		ContentDir:       cfg.Content.Dir,
		Media:            st,
		MediaExclude:     mediaExclude(cfg),
		PageSize:         cfg.Feed.Items,
		MaxItems:         cfg.Feed.MaxItems,
		Logger:           log,
		API:              apiConfig(cfg, st, d.syncer.Parser, subs, d.digest, images, log),
		Admin:            adminConfig(cfg, st, d.digest, subs, dash, d.syncer.Parser, images),
		Observer:         d.obs.m,
		Metrics:          d.obs.mainHandler(),
		MetricsPublic:    cfg.Metrics.Public,
		TrustedProxies:   trustedProxies(cfg),
		Embed:            embedConfig(cfg),
		Archive:          st,
		NewsletterTitles: newsletterTitles(cfg),
		AccessLog:        d.access,
	})
	if err != nil {
		return fail(err)
	}
	d.web = handler
	d.http = newHTTPServer(handler, log)
	d.http.BaseContext = func(net.Listener) context.Context { return bg }
	if d.access != nil {
		// Flushes the access log every second, and once more at shutdown.
		d.wg.Go(func() { d.access.Run(bg, time.Second) })
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := serveHTTP(d.http, ln); err != nil {
			log.Error("http server stopped", slog.Any("err", err))
		}
	}()
	if cfg.Content.Watch && cfg.Content.Dir != "" && fileExists(cfg.Content.Dir) {
		// Each sync also keeps the images articles still lack (every 30 s
		// at the latest), as the tick below does without a watched folder.
		d.wg.Go(func() { _ = d.syncer.Watch(bg, 30*time.Second, nil) })
	} else {
		// Images that failed are retried here: no sync would
		// (docs/ARCHITECTURE.md, "Remote images").
		d.wg.Go(func() { keepImages(bg, images.keeper, cfg.Content.Images.retry, log) })
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.watchStore(bg, time.Second)
	}()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		subsCleanup(bg) // deletes unconfirmed subscribers until shutdown
	}()
	d.wg.Go(func() { d.retention(bg) })
	if dash != nil {
		// Daily subscriber counts: at start, then whenever they change
		// (checked each minute).
		d.wg.Go(func() { dash.RunSnapshots(bg, time.Minute) })
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer signal.Stop(hup)
		for {
			select {
			case <-bg.Done():
				return
			case <-hup:
				d.reload(bg)
			}
		}
	}()
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("base_url", cfg.Site.BaseURL))
	return d, nil
}

// retention prunes, at start and then every six hours until shutdown,
// delivery rows older than digest.keep_deliveries (into their runs'
// counts), ended admin sessions and expired subscriber CSV uploads.
func (d *daemon) retention(ctx context.Context) {
	keep := d.cfg.Digest.KeepDeliveries.D()
	t := time.NewTimer(time.Minute) // not in the way of start-up
	defer t.Stop()
	logged := func(n int64, err error, failed, done string, attrs ...slog.Attr) {
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Error(failed, slog.Any("err", err))
		case n > 0:
			d.log.LogAttrs(ctx, slog.LevelInfo, done, append([]slog.Attr{slog.Int64("rows", n)}, attrs...)...)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		if keep > 0 {
			n, err := d.store.PruneDeliveries(ctx, now.Add(-keep), now)
			logged(n, err, "pruning old deliveries failed", "old deliveries summarised and deleted",
				slog.String("older_than", d.cfg.Digest.KeepDeliveries.String()))
		}
		// Admin sessions past their idle or absolute limit can never be
		// used again (admin.Auth.Check refuses them); their rows go.
		n, err := d.store.PruneSessions(ctx, now.Add(-d.cfg.Admin.SessionIdle.D()), now.Add(-d.cfg.Admin.SessionMax.D()))
		logged(n, err, "pruning ended admin sessions failed", "ended admin sessions deleted")
		// Subscriber CSVs whose confirmation window passed: their
		// addresses are not kept (an unexpired upload waits).
		n, err = d.store.PruneImportUploads(ctx, now)
		logged(n, err, "pruning expired subscriber imports failed", "expired subscriber imports deleted")
		t.Reset(6 * time.Hour)
	}
}

// embedConfig is the partner-site embed's part of the configuration.
func embedConfig(cfg *Config) web.EmbedConfig {
	e := web.EmbedConfig{AllowedOrigins: cfg.Embed.AllowedOrigins}
	for _, n := range cfg.Newsletters {
		e.Newsletters = append(e.Newsletters, web.EmbedNewsletter{ID: n.ID, Title: n.Title, Default: n.Default})
	}
	return e
}

// watchStore polls the store's article generation about once a second
// (it changes on writes by any process: a separate `herald import`, the
// API, another instance) and the next scheduled publication, and
// refreshes the feeds. A store that notifies of changes (PostgreSQL) is
// also heard at once; polling stays, for notifications lost with a
// connection.
func (d *daemon) watchStore(ctx context.Context, poll time.Duration) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var changes <-chan struct{}
	if n, ok := d.store.(backend.ChangeNotifier); ok {
		changes = n.ArticleChanges(ctx)
	}
	var lastGen int64 = -1
	var nextPub time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case _, ok := <-changes:
			if !ok {
				changes = nil // store closed or ctx done: polling remains
			}
		}
		gen, err := d.store.ArticlesGeneration(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("store poll failed", slog.Any("err", err))
			}
			continue
		}
		now := time.Now()
		due := !nextPub.IsZero() && !now.Before(nextPub)
		if gen == lastGen && !due {
			continue
		}
		if d.refresh != nil {
			if err := d.refresh(ctx); err != nil {
				d.log.Error("feed refresh failed", slog.Any("err", err))
				continue
			}
		}
		lastGen = gen
		nextPub, _, _ = d.store.NextPublication(ctx, now)
	}
}

// Close stops in the order of docs/ARCHITECTURE.md, "Shutdown": HTTP
// (drained within the grace period), background loops, then the store.
func (d *daemon) Close() error {
	grace := d.cfg.HTTP.ShutdownGrace.D()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	herr := stopHTTP(ctx, d.http, d.ln)
	d.digest.Close() // scheduler (waiting for running jobs), then delivery workers
	d.obs.Close(ctx)
	d.cancel()
	d.wg.Wait()
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	if err := d.syncer.Release(rctx); err != nil {
		d.log.Warn("content sync lease not released; another instance takes it when it expires", slog.Any("err", err))
	}
	if d.access != nil {
		d.access.Flush() // lines of requests that outlived the grace period
	}
	serr := d.store.Close()
	if herr != nil {
		return errors.Join(fmt.Errorf("http shutdown: %w", herr), serr)
	}
	return serr
}

// newHTTPServer is an http.Server with the timeouts of every listener
// serve opens (main and metrics), so a slow client holds none open.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// mediaExclude is what Herald itself writes: /media never serves it, even
// when content.dir contains it (content.dir: "." beside data/).
func mediaExclude(cfg *Config) []string {
	var out []string
	if db := cfg.Store.DSN; cfg.Store.Driver == "sqlite" && db != "" {
		out = append(out, db, db+"-wal", db+"-shm", db+"-journal", db+".lock", filepath.Dir(db))
	}
	if cfg.Mail.OutboxDir != "" {
		out = append(out, cfg.Mail.OutboxDir)
	}
	return out
}
