// Package browsertest starts Debian's chromium for tests through chromedp,
// under the test policy of docs/ARCHITECTURE.md, "Tests" (skip when
// chromium is missing, unless HERALD_TEST_REQUIRE_ALL=1).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/testenv"
)

// Options adjust the browser.
type Options struct {
	DisableJavaScript bool
	Timeout           time.Duration // for the whole test's browser work; default 60s
}

// New starts a headless chromium with a fresh profile and returns a
// chromedp context for one tab. The browser stops when the test ends.
func New(t *testing.T, o Options) context.Context {
	t.Helper()
	bin := testenv.Need(t, "chromium")
	// A browser that dies at start makes chromedp panic: check it runs first.
	if out, err := exec.Command(bin, "--version").CombinedOutput(); err != nil {
		testenv.Missing(t, "chromium does not start: "+string(out))
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(1200, 900),
	)
	if o.DisableJavaScript {
		opts = append(opts, chromedp.Flag("blink-settings", "scriptEnabled=false"))
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), o.Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// Artifact writes data under the folder named by HERALD_TEST_ARTIFACTS
// (default: the test's temp dir) and returns the path.
func Artifact(t *testing.T, name string, data []byte) string {
	t.Helper()
	dir := os.Getenv("HERALD_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
