package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAPIPublishReachesFeeds: a CMS publishes with one POST to the real
// daemon; the article is in /feed.atom within about two seconds and the
// WebSub hub is pinged, as for an import. Unpublishing takes it out.
func TestAPIPublishReachesFeeds(t *testing.T) {
	var mu sync.Mutex
	var pings []url.Values
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		pings = append(pings, r.PostForm)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hub.Close()
	env, _ := testEnv(t)
	env["HERALD_ADMIN_TOKEN"] = "cms-token-0123456789"
	env["HERALD_WEBSUB_HUBS"] = hub.URL
	env["HERALD_SITE_BASE_URL"] = "https://news.example.org"
	_, base := startTestDaemon(t, env)
	time.Sleep(1200 * time.Millisecond) // let the start-up refresh and its pings pass
	mu.Lock()
	pings = nil
	mu.Unlock()

	send := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer cms-token-0123456789")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	start := time.Now()
	if code := send("POST", "/api/v1/articles", `{"slug":"cms-news","title":"News from the CMS","date":"2026-10-05T09:00:00+02:00","tags":["WP3"],"body":"Published by **one** POST."}`); code != 201 {
		t.Fatalf("POST: %d", code)
	}
	eventually(t, 2*time.Second, "an API article reaches /feed.atom", func() bool {
		_, b := get(t, base+"/feed.atom")
		return strings.Contains(b, "News from the CMS")
	})
	t.Logf("API article in the feed after %v", time.Since(start))
	if _, b := get(t, base+"/tags/wp3/feed.json"); !strings.Contains(b, "News from the CMS") {
		t.Error("not in its tag feed")
	}
	eventually(t, 5*time.Second, "the hub is pinged for the new tag feed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range pings {
			if p.Get("hub.url") == "https://news.example.org/tags/wp3/feed.atom" {
				return true
			}
		}
		return false
	})
	if code := send("PATCH", "/api/v1/articles/cms-news", `{"draft":true}`); code != 200 {
		t.Fatalf("PATCH: %d", code)
	}
	eventually(t, 2*time.Second, "an unpublished API article leaves /feed.atom", func() bool {
		_, b := get(t, base+"/feed.atom")
		return !strings.Contains(b, "News from the CMS")
	})
}

// TestAPIOffByDefault: the built-in defaults set no token, so the API is
// closed (404), never open.
func TestAPIOffByDefault(t *testing.T) {
	env, _ := testEnv(t)
	_, base := startTestDaemon(t, env)
	if code, body := get(t, base+"/api/v1/articles"); code != 404 || !strings.Contains(body, `"message":"the admin API is off`) {
		t.Errorf("%d %s", code, body)
	}
}

// TestAPISubscribersDaemon: the subscriber endpoints are wired in serve
// and the subscribers gauge follows them.
func TestAPISubscribersDaemon(t *testing.T) {
	env, _ := testEnv(t)
	env["HERALD_ADMIN_TOKEN"] = "subs-token-0123456789"
	_, base := startTestDaemon(t, env)
	req, _ := http.NewRequest("POST", base+"/api/v1/subscribers", strings.NewReader(`{"email":"asa@example.se","confirmed":true}`))
	req.Header.Set("Authorization", "Bearer subs-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	// An opt-in address gets a confirmation mail: its send is counted.
	req, _ = http.NewRequest("POST", base+"/api/v1/subscribers", strings.NewReader(`{"email":"mette@example.dk"}`))
	req.Header.Set("Authorization", "Bearer subs-token-0123456789")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	_, text := get(t, base+"/metrics")
	for _, want := range []string{`herald_subscribers{status="active"} 1`, `herald_subscribers{status="pending"} 1`,
		`herald_mail_sends_total{class="2xx",transport="outbox"} 1`} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
