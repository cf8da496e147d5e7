package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/mail/mailtest"
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
		`herald_access_log_dropped_total 0`,
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

// apiDo sends an authenticated admin API request and decodes the JSON
// answer into out (if not nil).
func apiDo(t *testing.T, method, u, token, body string, out any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

// TestMetricsDigest sends a small digest through the SMTP test server via
// the API and finds the digest series: deliveries by outcome, the queue
// depth, the run's duration, the last success per newsletter, and the
// digest mail's reply classes; /readyz reports the scheduler running.
func TestMetricsDigest(t *testing.T) {
	smtpd := mailtest.NewServer(t, mailtest.Options{OnRcpt: func(from, to string) *mailtest.Reply {
		if to == "gone@example.net" {
			return &mailtest.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
		}
		return nil
	}})
	env, _ := testEnv(t)
	const token = "metrics-token-0123456789"
	env["HERALD_ADMIN_TOKEN"] = token
	env["HERALD_MAIL_TRANSPORT"] = "smtp"
	env["HERALD_MAIL_SMTP_HOST"] = smtpd.Host
	env["HERALD_MAIL_SMTP_PORT"] = strconv.Itoa(smtpd.Port)
	env["HERALD_MAIL_SMTP_TLS"] = "none"
	os.WriteFile(filepath.Join(env["HERALD_CONTENT_DIR"], "news.md"), articleFile("Fresh news", time.Now().AddDate(0, 0, -1).Format("2006-01-02")), 0o644)
	_, base := startTestDaemon(t, env)
	if code, body := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, `"scheduler":"ok"`) {
		t.Errorf("readyz: %d %s", code, body)
	}
	for _, a := range []string{"ann@example.net", "bo@example.net", "gone@example.net"} {
		if code := apiDo(t, "POST", base+"/api/v1/subscribers", token, `{"email":"`+a+`","confirmed":true}`, nil); code != 201 {
			t.Fatalf("add %s: %d", a, code)
		}
	}
	var run struct {
		ID     int64
		Status string
	}
	if code := apiDo(t, "POST", base+"/api/v1/newsletters/monthly/send", token, "", &run); code != 202 {
		t.Fatalf("send: %d %+v", code, run)
	}
	eventually(t, 10*time.Second, "the run is done", func() bool {
		apiDo(t, "GET", fmt.Sprintf("%s/api/v1/runs/%d", base, run.ID), token, "", &run)
		return run.Status == "done"
	})
	wants := []string{
		`herald_digest_deliveries{status="sent"} 2`,
		`herald_digest_deliveries{status="failed"} 1`,
		`herald_digest_deliveries{status="pending"} 0`,
		`herald_digest_queue_depth 0`,
		`herald_digest_run_duration_seconds_count{newsletter="monthly"} 1`,
		`herald_digest_last_success_timestamp_seconds{newsletter="monthly"} 1.`,
		`herald_mail_sends_total{class="2xx",transport="smtp"} 2`,
		`herald_mail_sends_total{class="5xx",transport="smtp"} 1`,
	}
	var text string
	eventually(t, 3*time.Second, "the scrape has the digest series", func() bool {
		_, text = get(t, base+"/metrics")
		for _, w := range wants {
			if !strings.Contains(text, w) {
				return false
			}
		}
		return true
	})
}

func TestAtMostEvery(t *testing.T) {
	calls := 0
	read := atMostEvery(time.Hour, func(context.Context) (map[string]float64, error) {
		calls++
		return map[string]float64{"sent": float64(calls)}, nil
	})
	for i := 0; i < 3; i++ {
		if m, err := read(context.Background()); err != nil || m["sent"] != 1 {
			t.Fatalf("read %d: %v %v", i, m, err)
		}
	}
	if calls != 1 {
		t.Errorf("the expensive read ran %d times within its interval", calls)
	}
}

// TestMetricsPrivate: by default /metrics on the main listener answers
// loopback clients only, the client being the one http.trusted_proxies
// resolves (a request the proxy forwards counts as its original client);
// metrics.public serves everyone.
func TestMetricsPrivate(t *testing.T) {
	scrape := func(t *testing.T, base, xff string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name, public, trusted, xff string
		want                       int
	}{
		{"OKLoopback", "", "", "", 200},
		{"OKUntrustedForwardIgnored", "", "", "203.0.113.7", 200},
		{"OKForwardedFromLoopback", "", "127.0.0.1", "::1", 200},
		{"ErrForwardedOutsider", "", "127.0.0.1", "203.0.113.7", 404},
		{"ErrForwardedOutsiderIPv6", "", "127.0.0.1", "2001:db8::7", 404},
		{"ErrSpoofedLoopbackHop", "", "127.0.0.1", "127.0.0.1, 203.0.113.7", 404},
		{"OKPublic", "true", "127.0.0.1", "203.0.113.7", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := testEnv(t)
			if tt.public != "" {
				env["HERALD_METRICS_PUBLIC"] = tt.public
			}
			if tt.trusted != "" {
				env["HERALD_HTTP_TRUSTED_PROXIES"] = tt.trusted
			}
			_, base := startTestDaemon(t, env)
			if got := scrape(t, base, tt.xff); got != tt.want {
				t.Errorf("X-Forwarded-For %q: %d, want %d", tt.xff, got, tt.want)
			}
		})
	}
}

// TestMetricsListenerTimeouts: the metrics listener has the read and idle
// timeouts of the main one, so slow clients cannot hold it open.
func TestMetricsListenerTimeouts(t *testing.T) {
	env, _ := testEnv(t)
	env["HERALD_METRICS_LISTEN"] = "127.0.0.1:0"
	d, _ := startTestDaemon(t, env)
	m, h := d.obs.srv, d.http
	if m.ReadHeaderTimeout == 0 || m.ReadTimeout == 0 || m.IdleTimeout == 0 || m.WriteTimeout == 0 ||
		m.ReadHeaderTimeout != h.ReadHeaderTimeout || m.ReadTimeout != h.ReadTimeout || m.IdleTimeout != h.IdleTimeout || m.WriteTimeout != h.WriteTimeout {
		t.Errorf("metrics listener timeouts %v/%v/%v/%v, main %v/%v/%v/%v", m.ReadHeaderTimeout, m.ReadTimeout, m.WriteTimeout, m.IdleTimeout,
			h.ReadHeaderTimeout, h.ReadTimeout, h.WriteTimeout, h.IdleTimeout)
	}
}
