package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

// TestTemplatesOverlayConfined: templates.dir is read through os.Root. A
// symlink that stays inside it works; one that leads out is refused, for
// page templates (the server does not start on them) and for assets,
// which would otherwise serve any file of the machine under /assets/.
func TestTemplatesOverlayConfined(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	must(t, os.WriteFile(secret, []byte(`{{define "content"}}SECRET-OUTSIDE{{end}}`), 0o644))
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	must(t, err)
	t.Cleanup(func() { st.Close() })
	newServer := func(dir string) (*httptest.Server, error) {
		h, err := web.New(web.Config{Site: web.Site{Title: "T", BaseURL: "http://x", Language: "en"}, Store: st, Templates: templates.FS(dir)})
		if err != nil {
			return nil, err
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv, nil
	}
	fetch := func(t *testing.T, u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	t.Run("OKSymlinkInside", func(t *testing.T) {
		dir := t.TempDir()
		must(t, os.MkdirAll(filepath.Join(dir, "pages"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "custom-error.html"), []byte(`{{define "content"}}<h1>Custom inside</h1>{{end}}`), 0o644))
		must(t, os.Symlink("../custom-error.html", filepath.Join(dir, "pages", "error.html")))
		srv, err := newServer(dir)
		must(t, err)
		if code, body := fetch(t, srv.URL+"/nowhere"); code != 404 || !strings.Contains(body, "Custom inside") {
			t.Errorf("%d %s", code, body)
		}
	})
	t.Run("ErrPageSymlinkOutside", func(t *testing.T) {
		dir := t.TempDir()
		must(t, os.MkdirAll(filepath.Join(dir, "pages"), 0o755))
		must(t, os.Symlink(secret, filepath.Join(dir, "pages", "error.html")))
		if _, err := newServer(dir); err == nil || !strings.Contains(err.Error(), "pages/error.html") {
			t.Fatalf("a page template outside the folder was accepted: %v", err)
		}
	})
	t.Run("ErrAssetSymlinkOutside", func(t *testing.T) {
		dir := t.TempDir()
		must(t, os.MkdirAll(filepath.Join(dir, "assets"), 0o755))
		must(t, os.Symlink(secret, filepath.Join(dir, "assets", "leak.css")))
		srv, err := newServer(dir)
		must(t, err)
		if code, body := fetch(t, srv.URL+"/assets/leak.css"); code != 404 || strings.Contains(body, "SECRET-OUTSIDE") {
			t.Errorf("%d %.200s", code, body)
		}
	})
}
