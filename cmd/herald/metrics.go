package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/internal/metrics"
	"github.com/herald-news/herald/internal/store/backend"
	"github.com/herald-news/herald/internal/web"
	"github.com/prometheus/client_golang/prometheus"
)

// storeGaugeTimeout bounds the store reads of one scrape.
const storeGaugeTimeout = 5 * time.Second

// daemonMetrics is serve's instrumentation: the registry, and its own
// listener when metrics.listen is set (else /metrics is on the main one).
type daemonMetrics struct {
	m   *metrics.Metrics
	srv *http.Server // nil: served on the main listener
	ln  net.Listener
	wg  sync.WaitGroup
}

// startMetrics builds the registry with the store's gauges and, with
// metrics.listen set, starts serving it there.
func startMetrics(cfg *Config, st backend.Store, log *slog.Logger) (*daemonMetrics, error) {
	m := metrics.New(log)
	m.AddGauges(storeGaugeTimeout, storeGauges(st)...)
	dm := &daemonMetrics{m: m}
	if cfg.Metrics.Listen == "" {
		return dm, nil
	}
	ln, err := net.Listen("tcp", cfg.Metrics.Listen)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	dm.ln = ln
	dm.srv = newHTTPServer(mux, log)
	dm.wg.Add(1)
	go func() {
		defer dm.wg.Done()
		if err := serveHTTP(dm.srv, ln); err != nil {
			log.Error("metrics server stopped", slog.Any("err", err))
		}
	}()
	log.Info("metrics listening", slog.String("addr", ln.Addr().String()))
	return dm, nil
}

// countAccessLogDrops exports how many access log lines were dropped
// because the output could not keep up (a request never waits for it).
func (dm *daemonMetrics) countAccessLogDrops(a *web.AccessLog) {
	dm.m.Registerer().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "access_log", Name: "dropped_total",
		Help: "Access log lines dropped because the log output could not keep up.",
	}, func() float64 { return float64(a.Dropped()) }))
}

// storeGauges are the gauges computed from the store at each scrape.
func storeGauges(st backend.Store) []metrics.Gauge {
	floats := func(m map[string]int, err error) (map[string]float64, error) {
		if err != nil {
			return nil, err
		}
		out := make(map[string]float64, len(m))
		for k, v := range m {
			out[k] = float64(v)
		}
		return out, nil
	}
	return []metrics.Gauge{
		{Name: "articles", Help: "Articles in the store by state (published, scheduled, draft, removed).", Label: "state",
			Read: func(ctx context.Context) (map[string]float64, error) {
				return floats(st.ArticleStateCounts(ctx, time.Now()))
			}},
		{Name: "subscribers", Help: "Subscribers by status (pending, active, unsubscribed, bounced).", Label: "status",
			Read: func(ctx context.Context) (map[string]float64, error) { return floats(st.SubscriberStatusCounts(ctx)) }},
		{Name: "digest_deliveries", Label: "status",
			Help: "Digest deliveries by status: pending, sending, and the outcomes sent, failed, skipped (including rows summarised by digest.keep_deliveries); recounted at most once a minute.",
			// A count over every delivery row: a year of million-recipient
			// runs is millions of rows, too many to count on every scrape.
			Read: atMostEvery(time.Minute, func(ctx context.Context) (map[string]float64, error) { return floats(st.DeliveryStatusCounts(ctx)) })},
		{Name: "digest_queue_depth", Help: "Digest deliveries waiting or in flight (pending + sending), over every run.",
			Read: func(ctx context.Context) (map[string]float64, error) {
				n, err := st.QueueDepth(ctx)
				return map[string]float64{"": float64(n)}, err
			}},
		{Name: "digest_runs_failed", Label: "newsletter",
			Help: "Digest runs that failed as a whole (the digest could not be composed or rendered), by newsletter; their articles went with the next run.",
			Read: func(ctx context.Context) (map[string]float64, error) { return floats(st.FailedRuns(ctx)) }},
		{Name: "digest_last_success_timestamp_seconds", Label: "newsletter",
			Help: "When each newsletter's latest scheduled or manual digest run finished done (Unix time), whichever process sent it.",
			Read: st.LastDigestSuccess},
	}
}

// atMostEvery caches read's answer for d: an expensive gauge is then
// recomputed at most once per d however often /metrics is scraped.
func atMostEvery(d time.Duration, read func(context.Context) (map[string]float64, error)) func(context.Context) (map[string]float64, error) {
	var mu sync.Mutex
	var last map[string]float64
	var at time.Time
	return func(ctx context.Context) (map[string]float64, error) {
		mu.Lock()
		defer mu.Unlock()
		if last != nil && time.Since(at) < d {
			return last, nil
		}
		m, err := read(ctx)
		if err != nil {
			return nil, err
		}
		last, at = m, time.Now()
		return m, nil
	}
}

// onDigestRun is the digest service's hook (digest.Config.OnRunFinished).
func (dm *daemonMetrics) onDigestRun(run digest.Run, _ digest.Counts) {
	if !run.StartedAt.IsZero() && !run.FinishedAt.IsZero() {
		dm.m.DigestRunFinished(run.Newsletter, run.FinishedAt.Sub(run.StartedAt))
	}
}

// onFeedServe is the feed handler's hook (feed.Options.OnServe).
func (dm *daemonMetrics) onFeedServe(r feed.CacheResult) { dm.m.FeedServed(uint8(r)) }

// mainHandler is what the main listener serves at /metrics: nil when the
// metrics have their own listener.
func (dm *daemonMetrics) mainHandler() http.Handler {
	if dm.srv != nil {
		return nil
	}
	return dm.m.Handler()
}

// Addr is the metrics listener's address ("" when on the main listener).
func (dm *daemonMetrics) Addr() string {
	if dm.ln == nil {
		return ""
	}
	return dm.ln.Addr().String()
}

// Close stops the metrics listener, if any.
func (dm *daemonMetrics) Close(ctx context.Context) error {
	if dm == nil || dm.srv == nil {
		return nil
	}
	err := stopHTTP(ctx, dm.srv, dm.ln)
	dm.wg.Wait()
	return err
}

// wrapSender returns what wraps a mail sender of transport so that every
// send is counted by reply class and timed.
func (dm *daemonMetrics) wrapSender(transport string) func(mail.Sender) mail.Sender {
	if transport == "" {
		transport = "outbox"
	}
	return func(s mail.Sender) mail.Sender { return observedSender{s, dm.m, transport} }
}

// observedSender reports each Send to the metrics.
type observedSender struct {
	mail.Sender
	m         *metrics.Metrics
	transport string
}

func (o observedSender) Send(ctx context.Context, env mail.Envelope, raw []byte) error {
	start := time.Now()
	err := o.Sender.Send(ctx, env, raw)
	o.m.ObserveMail(o.transport, mail.ReplyClass(err), time.Since(start))
	return err
}

// registerer is where serve's other series go; nil without metrics.
func (d *daemonMetrics) registerer() prometheus.Registerer {
	if d == nil || d.m == nil {
		return nil
	}
	return d.m.Registerer()
}
