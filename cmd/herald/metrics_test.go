package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMetricsScrape: after traffic, /metrics on the main listener has the
// HTTP, feed cache and store series, every one named herald_….
func TestMetricsScrape(t *testing.T) {
	env, _ := testEnv(t)
	env["HERALD_ADMIN_TOKEN"] = "metrics-token-0123456789"
	os.WriteFile(filepath.Join(env["HERALD_CONTENT_DIR"], "2026-10-01-first.md"), articleFile("First news", "2026-10-01"), 0o644)
	os.WriteFile(filepath.Join(env["HERALD_CONTENT_DIR"], "draft.md"), []byte("---\ntitle: D\ndate: 2026-10-01\ndraft: true\n---\n"), 0o644)
	_, base := startTestDaemon(t, env)
	for _, p := range []string{"/feed.atom", "/feed.atom", "/feed.json?limit=1", "/feed.json?limit=1", "/tags/wp2/feed.rss", "/nowhere", "/api/v1/articles"} {
		get(t, base+p)
	}
	wants := []string{
		`herald_http_requests_total{code="200",route="GET /feed.atom"} 2`,
		`herald_http_requests_total{code="200",route="GET /tags/{slug}/feed.rss"} 1`,
		`herald_http_requests_total{code="404",route="/"} 1`,
		`herald_http_requests_total{code="401",route="GET /api/v1/articles"} 1`,
		`herald_http_request_duration_seconds_bucket{code="200",route="GET /feed.atom",le="+Inf"} 2`,
		`herald_feed_cache_requests_total{result="hit"} 4`,
		`herald_feed_cache_requests_total{result="miss"} 1`,
		`herald_articles{state="published"} 1`,
		`herald_articles{state="draft"} 1`,
		`herald_articles{state="scheduled"} 0`,
		`herald_subscribers{status="active"} 0`,
		`herald_store_stats_up 1`,
		`herald_go_goroutines`,
		`herald_process_start_time_seconds`,
	}
	// A request is counted once its handler returns, which may be just
	// after the client has its response: poll briefly.
	var text string
	missing := func() []string {
		var code int
		code, text = get(t, base+"/metrics")
		if code != 200 {
			t.Fatalf("metrics: %d", code)
		}
		var out []string
		for _, w := range wants {
			if !strings.Contains(text, w) {
				out = append(out, w)
			}
		}
		return out
	}
	eventually(t, 3*time.Second, "the scrape has every series", func() bool { return len(missing()) == 0 })
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "herald_") {
			t.Errorf("series not named herald_…: %s", line)
		}
	}
}

// TestMetricsOwnListener: with metrics.listen set, /metrics is served
// there and not on the public listener.
func TestMetricsOwnListener(t *testing.T) {
	env, _ := testEnv(t)
	env["HERALD_METRICS_LISTEN"] = "127.0.0.1:0"
	d, base := startTestDaemon(t, env)
	get(t, base+"/feed.atom")
	if code, _ := get(t, base+"/metrics"); code != 404 {
		t.Errorf("main listener /metrics: %d, want 404", code)
	}
	eventually(t, 3*time.Second, "the metrics listener serves the counts", func() bool {
		code, text := get(t, "http://"+d.obs.Addr()+"/metrics")
		return code == 200 && strings.Contains(text, `herald_http_requests_total{code="200",route="GET /feed.atom"} 1`)
	})
}
