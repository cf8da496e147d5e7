package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/templates"
)

// TestDigestRunFailed: a digest template that fails makes `digest send`
// exit non-zero with the reason, and the run is failed as a whole in
// `digest status` and the metrics, with no delivery failed; once the
// template is fixed the next run carries the articles.
func TestDigestRunFailed(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "templates")
	src, err := fs.ReadFile(templates.Embedded(), "email/digest.html")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(tdir, "email"), 0o755)
	bad := strings.Replace(string(src), "<body", "{{index .Articles 99}}<body", 1)
	if err := os.WriteFile(filepath.Join(tdir, "email", "digest.html"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := digestConfig(t, dir, "templates: {dir: \""+tdir+"\"}\n")
	prepareStore(t, dir, cfg, 3)

	code, out, errs := runCLI(t, nil, "--config", cfg, "digest", "send", "--newsletter", "monthly", "--now")
	if code != 1 || !strings.Contains(errs, "run failed") || !strings.Contains(errs, "index out of range") {
		t.Fatalf("send with a broken template: %d\n%s\n%s", code, out, errs)
	}
	_, out, _ = runCLI(t, nil, "--config", cfg, "digest", "status")
	if !strings.Contains(out, "failed") {
		t.Errorf("status does not show the failed run:\n%s", out)
	}
	_, out, _ = runCLI(t, nil, "--config", cfg, "digest", "status", "--run", "1")
	if !strings.Contains(out, "failed: templates: email/digest.html") || !strings.Contains(out, "planned 0, sent 0, failed 0") {
		t.Errorf("status --run:\n%s", out)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range storeGauges(st) {
		if g.Name == "digest_runs_failed" {
			m, err := g.Read(context.Background())
			if err != nil || m["monthly"] != 1 {
				t.Errorf("herald_digest_runs_failed = %v, %v", m, err)
			}
		}
	}
	st.Close()

	os.WriteFile(filepath.Join(tdir, "email", "digest.html"), src, 0o644)
	code, out, errs = runCLI(t, nil, "--config", cfg, "digest", "send", "--newsletter", "monthly", "--now")
	if code != 0 || !strings.Contains(out, "3 articles to 3 recipients") || !strings.Contains(out, "3 sent, 0 failed") {
		t.Fatalf("send after the fix: %d\n%s\n%s", code, out, errs)
	}
}
