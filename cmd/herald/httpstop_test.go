package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeSlowCloseListener stands for a fault a loaded machine produces at
// random: the goroutine closing a listener is descheduled before the
// socket's close(2). It makes that window wide and certain.
type fakeSlowCloseListener struct {
	net.Listener
	once sync.Once
}

func (l *fakeSlowCloseListener) Close() error {
	l.once.Do(func() { time.Sleep(50 * time.Millisecond) })
	return l.Listener.Close()
}

// TestStopHTTPRefusesRedials: while stopHTTP runs, clients looping over
// keep-alive connections see every request in flight answered in full
// and, once the server stops, connections refused, never reset, however
// late the listener's close lands. Before the fix (Shutdown alone) the
// clients Shutdown told to close redialled into the still-open socket
// and were reset when it closed: "connection reset by peer".
func TestStopHTTPRefusesRedials(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &fakeSlowCloseListener{Listener: raw}
	body := strings.Repeat("News ", 2000)
	held := make(chan struct{})   // closed once the stop has begun
	heldIn := make(chan struct{}) // a held request has reached the handler
	var heldOnce sync.Once
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/held" {
			heldOnce.Do(func() { close(heldIn) })
			<-held
		}
		io.WriteString(w, body)
	})}
	served := make(chan error, 1)
	go func() { served <- serveHTTP(srv, ln) }()
	base := "http://" + raw.Addr().String()

	var stopping atomic.Bool
	var ok, refused atomic.Int64
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	get := func(c *http.Client, path string) bool {
		resp, err := c.Get(base + path)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) && stopping.Load() {
				refused.Add(1)
				return false
			}
			fail("%s: %v (stopping: %v)", path, err, stopping.Load())
			return false
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(b) != len(body) {
			fail("%s: status %d, %d bytes, %v", path, resp.StatusCode, len(b), err)
			return false
		}
		ok.Add(1)
		return true
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	const clients = 12
	warm := make(chan struct{}, clients)
	for range clients {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			for i := 0; ctx.Err() == nil; i++ {
				if get(c, "/feed") && i == 10 {
					warm <- struct{}{}
				}
				if stopping.Load() && refused.Load() > 0 {
					time.Sleep(time.Millisecond) // the server is gone: no busy loop
				}
			}
		})
	}
	for range clients {
		<-warm // every client is on a kept-alive connection
	}
	heldDone := make(chan bool)
	go func() { heldDone <- get(&http.Client{}, "/held") }()
	<-heldIn

	stopping.Store(true)
	stopped := make(chan error, 1)
	go func() { stopped <- stopHTTP(context.Background(), srv, ln) }()
	// Shutdown waits for the held request; once it has turned
	// keep-alives off, clients get "Connection: close" and redial.
	for refused.Load() < clients {
		time.Sleep(time.Millisecond)
	}
	close(held)
	if err := <-stopped; err != nil {
		t.Errorf("stopHTTP: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	if !<-heldDone {
		t.Error("the request in flight as the stop began failed")
	}
	stop()
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d served, %d refused after the stop", ok.Load(), refused.Load())
}
