package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 3))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestMediaConfined runs serve with content.dir holding its own data/
// folder (store and outbox), as an operator with content.dir "." would,
// and asks /media for everything that must not leave: a symlink out of
// the folder, a symlink to the live store (which once served the token
// key and dropped serve's SQLite locks), files under data/, a file that
// is not an image whatever its name. Only real images are served.
func TestMediaConfined(t *testing.T) {
	dir := t.TempDir()
	content := filepath.Join(dir, "site")
	outside := filepath.Join(dir, "outside")
	img := pngBytes(t)
	write := func(p string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(content, name)); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(content, "images", "pic.png"), img)
	write(filepath.Join(content, "logo.svg"), []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`))
	write(filepath.Join(content, "data", "stash.png"), img)
	write(filepath.Join(content, "fake.png"), []byte("secret: not an image\n"))
	write(filepath.Join(content, ".hidden", "pic.png"), img)
	write(filepath.Join(outside, "secret.png"), img)
	link("images/pic.png", "alias.png")
	link(filepath.Join(outside, "secret.png"), "abs-out.png")
	link("../outside/secret.png", "rel-out.png")
	link("/etc/passwd", "passwd.png")
	link("data/herald.db", "db.png")
	link("data", "d")
	if err := syscall.Mkfifo(filepath.Join(content, "fifo.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"HERALD_STORE_DSN":       filepath.Join(content, "data", "herald.db"),
		"HERALD_CONTENT_DIR":     content,
		"HERALD_CONTENT_WATCH":   "false",
		"HERALD_MAIL_OUTBOX_DIR": filepath.Join(content, "data", "outbox"),
		"HERALD_HTTP_LISTEN":     "127.0.0.1:0",
	}
	_, base := startTestDaemon(t, env)
	tests := []struct {
		name, path string
		want       int
	}{
		{"OK", "/media/images/pic.png", 200},
		{"OKSymlinkInside", "/media/alias.png", 200},
		{"OKSVG", "/media/logo.svg", 200},
		{"ErrSymlinkOutAbsolute", "/media/abs-out.png", 404},
		{"ErrSymlinkOutRelative", "/media/rel-out.png", 404},
		{"ErrSymlinkToSystemFile", "/media/passwd.png", 404},
		{"ErrSymlinkToStore", "/media/db.png", 404},
		{"ErrStoreDirect", "/media/data/herald.db", 404},
		{"ErrUnderData", "/media/data/stash.png", 404},
		{"ErrUnderDataViaSymlink", "/media/d/stash.png", 404},
		{"ErrNotAnImage", "/media/fake.png", 404},
		{"ErrHidden", "/media/.hidden/pic.png", 404},
		{"ErrFIFO", "/media/fifo.png", 404},
		{"ErrDotDot", "/media/../outside/secret.png", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, base+tt.path)
			if code != tt.want {
				t.Fatalf("status %d, want %d: %.200q", code, tt.want, body)
			}
			if code == 200 && tt.path != "/media/logo.svg" && body != string(img) {
				t.Errorf("served %d bytes, not the image", len(body))
			}
			if strings.Contains(body, "root:") || strings.Contains(body, "SQLite format") {
				t.Errorf("leaked: %.200q", body)
			}
		})
	}
	// The store is still the daemon's: it answers after all that.
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("readyz after the requests: %d", code)
	}
}
