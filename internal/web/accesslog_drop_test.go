package web

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/templates"
)

// TestAccessLogSlowOutput: when the access log's output stops taking
// bytes (a pipe nobody reads, as a stuck journald or terminal would be),
// requests are still answered; the lines that do not fit are dropped and
// counted, and the ones written are whole. The old access log flushed its
// buffer inside the request when it was full, so every request blocked
// once 64 KiB + the pipe's 4 KiB of lines were waiting (about 450).
func TestAccessLogSlowOutput(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close(); pw.Close() })
	// The smallest pipe the kernel allows, so it fills after a few lines.
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, pw.Fd(), 1031 /* F_SETPIPE_SZ */, 4096); errno != 0 {
		t.Fatalf("F_SETPIPE_SZ: %v", errno)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	al := newAccessLog(pw, false, 16<<10)
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); al.Run(runCtx, time.Millisecond) }()
	h, err := New(Config{Site: Site{Title: "T", BaseURL: "http://127.0.0.1", Location: time.UTC},
		Store: st, Templates: templates.FS(""), AccessLog: al})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	const requests = 1000 // about 150 KB of lines
	done := make(chan error, 1)
	go func() {
		for range requests {
			resp, err := srv.Client().Get(srv.URL + "/healthz")
			if err != nil {
				done <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				done <- io.ErrUnexpectedEOF
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a hang guard, not a timing assertion
		pr.Close() // unblocks the writes, so the server can close
		t.Fatal("requests blocked on the access log's output")
	}
	if al.Dropped() == 0 {
		t.Fatalf("%d requests through a stuck output: no line dropped", requests)
	}

	// The output recovers: what reached it is whole lines, and the run
	// writes the rest.
	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			got = append(got, sc.Text())
		}
		lines <- got
	}()
	stop()
	<-ran
	pw.Close()
	got := <-lines
	if uint64(len(got))+al.Dropped() != requests {
		t.Errorf("%d lines written + %d dropped, want %d requests", len(got), al.Dropped(), requests)
	}
	for _, l := range got {
		if !strings.HasPrefix(l, "time=") || !strings.Contains(l, " ip=") {
			t.Fatalf("torn line %q", l)
		}
	}
}
