package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchive: a sent digest is listed at /newsletters and shown at
// /newsletters/{newsletter}/{run}, the address its mail links to; the
// site's navigation links the archive.
func TestArchive(t *testing.T) {
	dir := t.TempDir()
	cfgPath := digestConfig(t, dir, `http: {listen: "127.0.0.1:0"}`)
	if code, _, errs := runCLI(t, nil, "--config", cfgPath, "import", filepath.Join("..", "..", "examples", "articles")); code != 0 {
		t.Fatal(errs)
	}
	addSubscribers(t, filepath.Join(dir, "h.db"), 2, nil)
	if code, _, errs := runCLI(t, nil, "--config", cfgPath, "digest", "send", "--newsletter", "monthly", "--now"); code != 0 {
		t.Fatal(errs)
	}
	runCLI(t, nil, "--config", cfgPath, "digest", "send", "--newsletter", "monthly", "--test-to", "editor@example.org")
	cfg, err := LoadConfig(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	get := func(path string) (int, http.Header, string) {
		resp, err := http.Get("http://" + d.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	code, _, body := get("/newsletters")
	if code != 200 || !strings.Contains(body, `href="/newsletters/monthly/1"`) || !strings.Contains(body, "Cluster Bridge Monthly —") ||
		strings.Contains(body, "/newsletters/monthly/2") {
		t.Fatalf("/newsletters: %d\n%s", code, body)
	}
	if !strings.Contains(body, `<a href="/newsletters">Newsletters</a>`) {
		t.Error("no navigation link to the archive")
	}
	code, h, body := get("/newsletters/monthly/1")
	if code != 200 || !strings.Contains(body, "Cluster Bridge Monthly") || strings.Contains(body, "~HERALD~") ||
		strings.Contains(body, "/unsubscribe") || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("issue page: %d %v\n%s", code, h, body)
	}
	for _, p := range []string{"/newsletters/monthly/2", "/newsletters/weekly/1", "/newsletters/monthly/x", "/newsletters/monthly/99"} {
		if code, _, _ := get(p); code != 404 {
			t.Errorf("%s: %d, want 404 (test runs and unknown issues are not in the archive)", p, code)
		}
	}
}
