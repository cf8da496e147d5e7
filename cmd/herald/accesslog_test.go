package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestServeAccessLog: serve writes one access log line per request by
// default (log.access), flushed at the latest when it stops, and none
// with log.access false.
func TestServeAccessLog(t *testing.T) {
	for _, tc := range []struct {
		name, access string
		want         bool
	}{{"OKDefault", "", true}, {"OKOff", "false", false}} {
		t.Run(tc.name, func(t *testing.T) {
			env, _ := testEnv(t)
			env["HERALD_CONTENT_WATCH"] = "false"
			if tc.access != "" {
				env["HERALD_LOG_ACCESS"] = tc.access
			}
			cfg, err := LoadConfig("", env)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			out := &lockedWriter{b: &buf}
			d, err := startDaemonOut(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), out)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Get("http://" + d.Addr() + "/feed.json")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id := resp.Header.Get("X-Request-Id")
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			out.mu.Lock()
			logged := buf.String()
			out.mu.Unlock()
			var line string
			for _, l := range strings.Split(logged, "\n") {
				if strings.Contains(l, "request_id="+id) {
					line = l
				}
			}
			if !tc.want {
				if logged != "" {
					t.Errorf("log.access false, yet:\n%s", logged)
				}
				return
			}
			if !strings.Contains(line, `msg=access method=GET route="GET /feed.json" status=200 `) || !strings.HasSuffix(line, " ip=127.0.0.1") {
				t.Errorf("access line %q in:\n%s", line, logged)
			}
		})
	}
}
