// Package imagefetchtest is an image host for tests of remote article
// images: real HTTP over loopback, whose outage a test switches.
package imagefetchtest

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// Server serves one image at every path, or 503 while it is down, and
// counts the requests (fetches) it answers either way.
type Server struct {
	*httptest.Server
	hits atomic.Int32
	down atomic.Bool
}

// NewServer starts a Server serving body as contentType, up; it stops
// when the test ends.
func NewServer(t testing.TB, body []byte, contentType string) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// SetDown makes the server answer 503 (true) or the image (false).
func (s *Server) SetDown(down bool) { s.down.Store(down) }

// Hits is how many requests the server has answered.
func (s *Server) Hits() int { return int(s.hits.Load()) }
