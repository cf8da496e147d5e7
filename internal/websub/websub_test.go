package websub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// hub is a WebSub hub on loopback that records publish pings and fails
// the first failures of them.
type hub struct {
	mu       sync.Mutex
	failures int
	got      []url.Values
	done     chan struct{} // closed on the first successful ping
	once     sync.Once
}

func newHub(t *testing.T, failures int) (*hub, *httptest.Server) {
	h := &hub{failures: failures, done: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, r.PostForm)
		fail := h.failures > 0
		if fail {
			h.failures--
		}
		h.mu.Unlock()
		if fail {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		h.once.Do(func() { close(h.done) })
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hub) pings() []url.Values {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]url.Values(nil), h.got...)
}

func start(t *testing.T, p *Publisher) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
}

func wait(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the hub")
	}
}

func TestPublisher(t *testing.T) {
	const topic = "https://news.example.org/feed.atom"
	t.Run("OK", func(t *testing.T) {
		h, srv := newHub(t, 0)
		p := NewPublisher([]string{srv.URL}, srv.Client(), nil)
		start(t, p)
		p.Publish([]string{topic})
		wait(t, h.done)
		got := h.pings()
		if len(got) != 1 {
			t.Fatalf("pings = %d, want 1", len(got))
		}
		for k, want := range map[string]string{"hub.mode": "publish", "hub.url": topic, "hub.topic": topic} {
			if v := got[0].Get(k); v != want {
				t.Errorf("%s = %q, want %q", k, v, want)
			}
		}
	})
	t.Run("RetryAfterFailures", func(t *testing.T) {
		h, srv := newHub(t, 2)
		p := NewPublisher([]string{srv.URL}, srv.Client(), nil)
		p.BaseBackoff = 10 * time.Millisecond
		start(t, p)
		p.Publish([]string{topic})
		wait(t, h.done)
		if n := len(h.pings()); n != 3 {
			t.Fatalf("pings = %d, want 3 (two failures, one success)", n)
		}
	})
	t.Run("Coalesce", func(t *testing.T) {
		h, srv := newHub(t, 0)
		p := NewPublisher([]string{srv.URL}, srv.Client(), nil)
		// Queue before Run starts: duplicates must collapse into one ping per topic.
		p.Publish([]string{topic, topic})
		p.Publish([]string{topic, topic + "?x"})
		start(t, p)
		wait(t, h.done)
		deadline := time.Now().Add(5 * time.Second)
		for len(h.pings()) < 2 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		seen := map[string]int{}
		for _, v := range h.pings() {
			seen[v.Get("hub.topic")]++
		}
		if seen[topic] != 1 || seen[topic+"?x"] != 1 || len(seen) != 2 {
			t.Fatalf("pings per topic = %v, want one each", seen)
		}
	})
	t.Run("GiveUp", func(t *testing.T) {
		h, srv := newHub(t, 1000)
		p := NewPublisher([]string{srv.URL}, srv.Client(), nil)
		p.BaseBackoff, p.MaxAttempts = time.Millisecond, 3
		start(t, p)
		p.Publish([]string{topic})
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			p.mu.Lock()
			n := len(p.pending)
			p.mu.Unlock()
			if n == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if n := len(h.pings()); n != 3 {
			t.Fatalf("pings = %d, want MaxAttempts = 3", n)
		}
	})
	t.Run("StopsOnShutdown", func(t *testing.T) {
		_, srv := newHub(t, 1000)
		p := NewPublisher([]string{srv.URL}, srv.Client(), nil)
		p.BaseBackoff = time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() { p.Run(ctx); close(stopped) }()
		p.Publish([]string{topic})
		time.Sleep(50 * time.Millisecond)
		cancel()
		wait(t, stopped)
	})
}

func TestBackoff(t *testing.T) {
	p := NewPublisher(nil, nil, nil)
	for n := 1; n <= 20; n++ {
		d := p.backoff(n)
		if d < p.BaseBackoff/2 || d > p.MaxBackoff {
			t.Errorf("backoff(%d) = %v, outside [%v, %v]", n, d, p.BaseBackoff/2, p.MaxBackoff)
		}
	}
	if d := p.backoff(1); d > p.BaseBackoff {
		t.Errorf("backoff(1) = %v, want ≤ base", d)
	}
	if d := p.backoff(30); d < p.MaxBackoff/2 {
		t.Errorf("backoff(30) = %v, want ≥ max/2", d)
	}
}
