package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportRemoteImage: herald import keeps an article's remote image in
// the store, served under /media/u/; an image that cannot be fetched is a
// warning naming the file, and its article is imported all the same.
func TestImportRemoteImage(t *testing.T) {
	env, dir := testEnv(t)
	env["HERALD_CONTENT_IMAGES_ALLOW_PRIVATE"] = "true" // the images come from httptest, over loopback
	img := image.NewRGBA(image.Rect(0, 0, 800, 450))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.Set(0, 0, color.RGBA{1, 2, 3, 255})
	var photo bytes.Buffer
	png.Encode(&photo, img)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok.png" {
			http.NotFound(w, r)
			return
		}
		w.Write(photo.Bytes())
	}))
	defer srv.Close()
	src := filepath.Join(dir, "incoming")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "2026-10-01-kept.md"), []byte("---\ntitle: Kept\ndate: 2026-10-01\nimage: "+srv.URL+"/ok.png\n---\nHej.\n"), 0o644)
	os.WriteFile(filepath.Join(src, "2026-10-02-gone.md"), []byte("---\ntitle: Gone\ndate: 2026-10-02\nimage: "+srv.URL+"/gone.png\n---\nHej.\n"), 0o644)

	code, out, stderr := runCLI(t, env, "import", src)
	want := filepath.Join(src, "2026-10-02-gone.md") + ": image: " + srv.URL + "/gone.png: the server answered 404 Not Found"
	if code != 0 || !strings.Contains(out, "2 added") || !strings.Contains(out, "1 images kept, 1 missing") || !strings.Contains(stderr, want) {
		t.Fatalf("import: %d %q %q; want the warning %q", code, out, stderr, want)
	}
	code, out, _ = runCLI(t, env, "feed", "--format", "json")
	if code != 0 || !strings.Contains(out, "/media/u/") || strings.Contains(out, srv.URL+"/ok.png") {
		t.Errorf("the feed does not name the kept image: %d %s", code, out)
	}
}
