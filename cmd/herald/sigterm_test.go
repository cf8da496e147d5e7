package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMUnderLoad builds the real binary, runs `herald serve` with
// clients fetching feeds in a loop, and sends SIGTERM: no request fails
// before the listener closes (refused connections afterwards are fine; a
// 5xx or a response cut short is not), and the process exits 0 within
// http.shutdown_grace. A reset is a failure: the daemon closes its
// listener before Shutdown turns keep-alives off (stopHTTP), so a client
// told to close redials into a closed socket and is refused; see
// TestStopHTTPRefusesRedials for that window made certain.
func TestSIGTERMUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "herald")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	content := filepath.Join(dir, "content")
	os.MkdirAll(content, 0o755)
	for i := range 30 {
		os.WriteFile(filepath.Join(content, fmt.Sprintf("2026-10-%02d-news-%d.md", i%28+1, i)),
			articleFile(fmt.Sprintf("News %d", i), fmt.Sprintf("2026-10-%02d", i%28+1)), 0o644)
	}
	addr := freeAddr(t)
	const grace = 3 * time.Second
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `site: {base_url: "http://%s"}
http: {listen: %q, shutdown_grace: %s}
store: {dsn: %q}
content: {dir: %q, watch: false}
mail: {outbox_dir: %q}
log: {level: warn}
`, addr, addr, grace, filepath.Join(dir, "h.db"), content, filepath.Join(dir, "outbox")), 0o644)

	cmd := exec.Command(bin, "--config", cfg, "serve")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out // read only after Wait
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	}()

	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			t.Fatalf("herald did not come up: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	var signalled atomic.Bool
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
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	paths := []string{"/feed.atom", "/feed.rss", "/feed.json", "/tags/wp2/feed.atom", "/feed.json?limit=3", "/feed.atom?page=2"}
	for c := range 6 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{DisableCompression: c%2 == 0}, Timeout: 10 * time.Second}
			for i := 0; ctx.Err() == nil; i++ {
				p := paths[(c+i)%len(paths)]
				resp, err := client.Get(base + p)
				if err != nil {
					if errors.Is(err, syscall.ECONNREFUSED) && signalled.Load() {
						refused.Add(1)
						time.Sleep(5 * time.Millisecond)
						continue
					}
					fail("%s: %v (signalled: %v)", p, err, signalled.Load())
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					fail("%s: response cut short after %d bytes: %v", p, len(body), err)
				case resp.StatusCode != 200:
					fail("%s: status %d", p, resp.StatusCode)
				case !bytes.Contains(body, []byte("News")):
					fail("%s: not a feed: %.80q", p, body)
				default:
					ok.Add(1)
				}
			}
		})
	}
	time.Sleep(700 * time.Millisecond) // load well under way
	before := ok.Load()
	signalled.Store(true)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(grace + 5*time.Second):
		cmd.Process.Kill()
		exitErr = <-exited
		t.Errorf("herald did not exit within %v of SIGTERM", grace+5*time.Second)
	}
	took := time.Since(sent)
	time.Sleep(100 * time.Millisecond) // clients see the closed listener
	stop()
	wg.Wait()

	if exitErr != nil {
		t.Errorf("exit: %v\n%s", exitErr, out.String())
	}
	if took > grace {
		t.Errorf("exit took %v, more than http.shutdown_grace %v", took, grace)
	}
	if before < 50 {
		t.Errorf("only %d requests before SIGTERM: no load to speak of", before)
	}
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d feeds served (%d before SIGTERM), %d refused after the listener closed; exit %v after SIGTERM", ok.Load(), before, refused.Load(), took.Round(time.Millisecond))
	if strings.Contains(out.String(), "panic") {
		t.Errorf("output:\n%s", out.String())
	}
}

// freeAddr finds a loopback address with a free port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
