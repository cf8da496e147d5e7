package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so the benchmark
// measures the server's own work per request.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkMiddleware is what the common middleware adds to every request
// (request id, headers, status capture, metrics hook), on a tiny route.
func BenchmarkMiddleware(b *testing.B) {
	f := newFixture(b)
	h := f.handler
	req := httptest.NewRequest("GET", "/healthz", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}
