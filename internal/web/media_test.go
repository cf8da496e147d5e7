package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/herald-news/herald/internal/media"
)

// upload stores a w×h PNG, half transparent when alpha, through the
// media service.
func (f *fixture) upload(t *testing.T, w, h int, alpha bool) media.Item {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	fill := color.NRGBA{10, 120, 200, 255}
	r := m.Bounds()
	if alpha {
		r.Max.X = w / 2
	}
	draw.Draw(m, r, image.NewUniform(fill), image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	svc := &media.Service{Store: f.store}
	it, _, err := svc.Upload(context.Background(), "pic.png", &buf, media.Actor{Email: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestUploads(t *testing.T) {
	f := newFixture(t)
	it := f.upload(t, 1300, 200, false)
	// A content-folder file where uploads live is never served.
	os.MkdirAll(filepath.Join(f.dir, "u", "sub"), 0o755)
	for _, p := range []string{"u/" + it.Hash + ".png", "u/sub/pic.png", "u/pic.png"} {
		os.WriteFile(filepath.Join(f.dir, filepath.FromSlash(p)), pngBytesOf(t), 0o644)
	}

	for _, c := range []struct {
		name, path string
		status     int
		ct         string
		width      int
	}{
		{"Original", it.URL(), 200, "image/png", 1300},
		{"Derivative600", it.DerivativeURL(600), 200, "image/jpeg", 600},
		{"Derivative1200", it.DerivativeURL(1200), 200, "image/jpeg", 1200},
		{"ErrWrongExt", "/media/u/" + it.Hash + ".jpg", 404, "", 0},
		{"ErrWrongDerivativeExt", "/media/u/" + it.Hash + "-600.png", 404, "", 0},
		{"ErrNoSuchWidth", "/media/u/" + it.Hash + "-800.jpg", 404, "", 0},
		{"ErrUnknown", "/media/u/" + "0123456789abcdef0123456789abcdef.png", 404, "", 0},
		{"ErrNotAHash", "/media/u/pic.png", 404, "", 0},
		{"ErrSubfolder", "/media/u/sub/pic.png", 404, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := f.get(t, c.path)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if c.status != 200 {
				return
			}
			h := resp.Header
			if h.Get("Content-Type") != c.ct || h.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" || h.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("headers %v", h)
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader([]byte(body)))
			if err != nil || cfg.Width != c.width {
				t.Errorf("body: %d wide, %v; want %d", cfg.Width, err, c.width)
			}
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+c.path, nil)
			req.Header.Set("If-None-Match", h.Get("ETag"))
			again, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			again.Body.Close()
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match: status %d, want 304", again.StatusCode)
			}
		})
	}

	t.Run("Transparent", func(t *testing.T) {
		it := f.upload(t, 700, 100, true)
		resp, _ := f.get(t, it.DerivativeURL(600))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
			t.Errorf("derivative of a transparent image: %d %s, want a PNG", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("ContentFolderElsewhere", func(t *testing.T) {
		if resp, _ := f.get(t, "/media/images/pic.png"); resp.StatusCode != 200 {
			t.Errorf("content-folder image: %d", resp.StatusCode)
		}
	})
}

func pngBytesOf(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 3))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
