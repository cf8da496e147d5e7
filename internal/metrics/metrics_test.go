package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/metrics"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// seriesNames lists the metric names of a text exposition.
func seriesNames(text string) []string {
	var names []string
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names = append(names, strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0])
	}
	return names
}

func TestMetrics(t *testing.T) {
	m := metrics.New(nil)
	m.ObserveRequest("GET /feed.atom", 200, 3*time.Millisecond)
	m.ObserveRequest("GET /feed.atom", 200, time.Millisecond)
	m.ObserveRequest("", 405, time.Millisecond)
	m.ObserveRequest("GET /healthz", 0, time.Millisecond)
	m.FeedServed(0)
	m.FeedServed(0)
	m.FeedServed(1)
	m.FeedServed(7) // not a result: ignored
	m.ObserveMail("smtp", "2xx", 40*time.Millisecond)
	m.ObserveMail("smtp", "4xx", 10*time.Millisecond)
	m.AddGauges(time.Second,
		metrics.Gauge{Name: "articles", Help: "h", Label: "state", Read: func(context.Context) (map[string]float64, error) {
			return map[string]float64{"published": 3, "draft": 1}, nil
		}},
		metrics.Gauge{Name: "delivery_queue_depth", Help: "h", Read: func(context.Context) (map[string]float64, error) {
			return map[string]float64{"": 12}, nil
		}},
	)
	text := scrape(t, m)
	for _, want := range []string{
		`herald_http_requests_total{code="200",route="GET /feed.atom"} 2`,
		`herald_http_requests_total{code="405",route="unmatched"} 1`,
		`herald_http_requests_total{code="200",route="GET /healthz"} 1`,
		`herald_http_request_duration_seconds_count{code="200",route="GET /feed.atom"} 2`,
		`herald_http_request_duration_seconds_bucket{code="200",route="GET /feed.atom",le="0.001"} 1`,
		`herald_feed_cache_requests_total{result="hit"} 2`,
		`herald_feed_cache_requests_total{result="miss"} 1`,
		`herald_articles{state="published"} 3`,
		`herald_articles{state="draft"} 1`,
		`herald_delivery_queue_depth 12`,
		`herald_store_stats_up 1`,
		`herald_mail_sends_total{class="2xx",transport="smtp"} 1`,
		`herald_mail_sends_total{class="4xx",transport="smtp"} 1`,
		`herald_mail_send_duration_seconds_bucket{class="2xx",transport="smtp",le="0.05"} 1`,
		`herald_go_goroutines `,
		`herald_process_`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	for _, n := range seriesNames(text) {
		if !strings.HasPrefix(n, "herald_") {
			t.Errorf("series %q is not named herald_…", n)
		}
	}
}

func TestGaugeFailure(t *testing.T) {
	m := metrics.New(nil)
	m.AddGauges(50*time.Millisecond,
		metrics.Gauge{Name: "subscribers", Help: "h", Label: "status", Read: func(context.Context) (map[string]float64, error) {
			return nil, errors.New("store down")
		}},
		metrics.Gauge{Name: "articles", Help: "h", Label: "state", Read: func(ctx context.Context) (map[string]float64, error) {
			<-ctx.Done() // a store that hangs: the timeout ends the read
			return nil, ctx.Err()
		}},
	)
	start := time.Now()
	text := scrape(t, m)
	if time.Since(start) > 5*time.Second {
		t.Error("a hanging gauge held the scrape")
	}
	if !strings.Contains(text, "herald_store_stats_up 0") || strings.Contains(text, "herald_subscribers{") {
		t.Errorf("failed gauges:\n%s", text)
	}
	if !strings.Contains(text, "herald_http_requests_total") && !strings.Contains(text, "herald_go_goroutines") {
		t.Error("the rest of the scrape is missing")
	}
}

// BenchmarkObserveRequest: the per-request cost once a route is known.
func BenchmarkObserveRequest(b *testing.B) {
	m := metrics.New(nil)
	m.ObserveRequest("GET /feed.atom", 200, time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest("GET /feed.atom", 200, time.Millisecond)
		m.FeedServed(0)
	}
}
