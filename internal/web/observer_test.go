package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

type recordingObserver struct {
	mu   sync.Mutex
	seen []string
}

func (o *recordingObserver) ObserveRequest(pattern string, status int, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, pattern+" "+http.StatusText(status))
}

// TestObserver: the middleware reports the route pattern the mux matched
// (not the path: bounded label values) and the status.
func TestObserver(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	obs := &recordingObserver{}
	s, err := web.New(web.Config{Site: web.Site{Title: "T", BaseURL: "http://x", Language: "en"}, Store: st,
		Templates: templates.FS(""), Observer: obs, Metrics: http.NotFoundHandler(),
		API: &web.APIConfig{Tokens: []web.APIToken{{Name: "t", Token: "0123456789abcdef"}}, Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/articles/nope", "/healthz", "/metrics", "/api/v1/articles/x", "/nowhere"} {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("DELETE", "/healthz", nil))
	want := []string{"GET /{$} OK", "GET /articles/{slug} Not Found", "GET /healthz OK", "GET /metrics Not Found",
		"GET /api/v1/articles/{slug} Unauthorized", "/ Not Found", "/ Not Found"}
	if !slices.Equal(obs.seen, want) {
		t.Errorf("observed\n%q\nwant\n%q", obs.seen, want)
	}
}
