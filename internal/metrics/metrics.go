// Package metrics is Herald's Prometheus instrumentation: a private
// registry (no global state), every series named herald_…, the hooks the
// other parts report to, and gauges read from the store at scrape time.
package metrics

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every series.
const Namespace = "herald"

// Metrics holds the registry and the series. Its methods are safe for
// concurrent use; the ones on request paths do not allocate once a label
// combination has been seen.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	feedServed   [2]prometheus.Counter // by feed.CacheResult: hit, miss
	mail         *mailSeries
	digest       *digestSeries

	// routes is copied on write: a request only loads the pointer, where a
	// read lock made both cores write one shared counter per request.
	mu     sync.Mutex // serialises writers of routes
	routes atomic.Pointer[map[routeKey]routeSeries]
}

type routeKey struct {
	pattern string
	code    int
}

type routeSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// New makes the registry with the Go runtime and process collectors
// (renamed herald_go_… and herald_process_…) and Herald's own series.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: log}
	m.routes.Store(&map[routeKey]routeSeries{})
	prefixed := prometheus.WrapRegistererWithPrefix(Namespace+"_", m.reg)
	prefixed.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "http", Name: "requests_total",
		Help: "HTTP requests by route pattern (as the mux matched it) and status code.",
	}, []string{"route", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
		Help:    "Time to serve HTTP requests, by route pattern and status code.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "code"})
	feed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "feed", Name: "cache_requests_total",
		Help: "Feed responses by cache result: hit (rendered ahead or in the LRU) or miss (rendered for the request).",
	}, []string{"result"})
	m.feedServed[0] = feed.WithLabelValues("hit")
	m.feedServed[1] = feed.WithLabelValues("miss")
	m.reg.MustRegister(m.httpRequests, m.httpDuration, feed)
	m.mail = newMailSeries(m.reg)
	m.digest = newDigestSeries(m.reg)
	return m
}

// Registerer is where other parts register their series (named herald_…).
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// Gatherer reads every series (tests).
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format. A failing collector leaves its series out and logs, rather than
// failing the whole scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
		Timeout:           30 * time.Second,
	})
}

// ObserveRequest counts a request and its duration under the route
// pattern the mux matched ("" when none did: "unmatched").
func (m *Metrics) ObserveRequest(pattern string, code int, took time.Duration) {
	if pattern == "" {
		pattern = "unmatched"
	}
	if code == 0 {
		code = http.StatusOK
	}
	k := routeKey{pattern, code}
	s, ok := (*m.routes.Load())[k]
	if !ok {
		s = m.addRoute(k)
	}
	s.count.Inc()
	s.duration.Observe(took.Seconds())
}

// addRoute makes the series of a route and status not seen before and
// publishes a copy of the routes holding them.
func (m *Metrics) addRoute(k routeKey) routeSeries {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.routes.Load()
	if s, ok := old[k]; ok {
		return s
	}
	c := strconv.Itoa(k.code)
	s := routeSeries{m.httpRequests.WithLabelValues(k.pattern, c), m.httpDuration.WithLabelValues(k.pattern, c)}
	routes := maps.Clone(old)
	routes[k] = s
	m.routes.Store(&routes)
	return s
}

// FeedServed counts a feed response by cache result: 0 hit, 1 miss (the
// values of feed.CacheResult, so feed.Options.OnServe can call it).
func (m *Metrics) FeedServed(result uint8) {
	if int(result) < len(m.feedServed) {
		m.feedServed[result].Inc()
	}
}

// Gauge is a family of gauges read at scrape time, each label value one
// series (Label "" : one series without labels).
type Gauge struct {
	Name, Help, Label string
	Read              func(ctx context.Context) (map[string]float64, error)
}

// AddGauges registers gauges read from the store at each scrape, within
// timeout; a herald_store_stats_up gauge says whether all reads worked.
func (m *Metrics) AddGauges(timeout time.Duration, gs ...Gauge) {
	c := &storeCollector{timeout: timeout, log: m.log, up: prometheus.NewDesc(Namespace+"_store_stats_up",
		"1 if the last scrape read every store gauge, else 0 (see the log).", nil, nil)}
	for _, g := range gs {
		var labels []string
		if g.Label != "" {
			labels = []string{g.Label}
		}
		c.gauges = append(c.gauges, gaugeDesc{g, prometheus.NewDesc(Namespace+"_"+g.Name, g.Help, labels, nil)})
	}
	m.reg.MustRegister(c)
}

type gaugeDesc struct {
	Gauge
	desc *prometheus.Desc
}

// storeCollector reads its gauges when scraped, so the numbers are the
// store's whatever process changed it.
type storeCollector struct {
	timeout time.Duration
	log     *slog.Logger
	up      *prometheus.Desc
	gauges  []gaugeDesc
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	for _, g := range c.gauges {
		ch <- g.desc
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	up := 1.0
	for _, g := range c.gauges {
		vals, err := g.Read(ctx)
		if err != nil {
			up = 0
			c.log.Warn("metrics: store gauge failed", slog.String("gauge", g.Name), slog.Any("err", err))
			continue
		}
		for label, v := range vals {
			if g.Label == "" {
				ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
				continue
			}
			ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v, label)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}
