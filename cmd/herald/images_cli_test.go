package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/imagefetch/imagefetchtest"
)

// TestImportRemoteImage: herald import keeps an article's remote image in
// the store, served under /media/u/; an image that cannot be fetched is a
// warning naming the file, and its article is imported all the same.
func TestImportRemoteImage(t *testing.T) {
	env, dir := testEnv(t)
	env["HERALD_CONTENT_IMAGES_ALLOW_PRIVATE"] = "true" // the images come from httptest, over loopback
	srvURL, src := keptAndGone(t, dir)

	code, out, stderr := runCLI(t, env, "import", src)
	want := filepath.Join(src, "2026-10-02-gone.md") + ": image: " + srvURL + "/gone.png: the server answered 404 Not Found"
	if code != 0 || !strings.Contains(out, "2 added") || !strings.Contains(out, "1 images kept, 1 missing") || !strings.Contains(stderr, want) {
		t.Fatalf("import: %d %q %q; want the warning %q", code, out, stderr, want)
	}
	code, out, _ = runCLI(t, env, "feed", "--format", "json")
	if code != 0 || !strings.Contains(out, "/media/u/") || strings.Contains(out, srvURL+"/ok.png") {
		t.Errorf("the feed does not name the kept image: %d %s", code, out)
	}
}

// keptAndGone writes two articles to import into dir/incoming (src):
// one whose image the test server (at srvURL) serves, one whose image it
// answers 404 for.
func keptAndGone(t *testing.T, dir string) (srvURL, src string) {
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
	t.Cleanup(srv.Close)
	src = filepath.Join(dir, "incoming")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "2026-10-01-kept.md"), []byte("---\ntitle: Kept\ndate: 2026-10-01\nimage: "+srv.URL+"/ok.png\n---\nHej.\n"), 0o644)
	os.WriteFile(filepath.Join(src, "2026-10-02-gone.md"), []byte("---\ntitle: Gone\ndate: 2026-10-02\nimage: "+srv.URL+"/gone.png\n---\nHej.\n"), 0o644)
	return srv.URL, src
}

// TestCheckMissingImages: herald check lists each article whose image is
// not kept yet, with its file, the URL, the last error and the next
// attempt, as a warning (exit 0); a kept image is not listed, and with no
// store yet there is no list.
func TestCheckMissingImages(t *testing.T) {
	env, dir := testEnv(t)
	env["HERALD_CONTENT_IMAGES_ALLOW_PRIVATE"] = "true"
	if code, out, stderr := runCLI(t, env, "check"); code != 0 || strings.Contains(out, "Images") {
		t.Fatalf("check with no store: %d %q %q", code, out, stderr)
	}
	srvURL, src := keptAndGone(t, dir)
	if code, out, stderr := runCLI(t, env, "import", src); code != 0 {
		t.Fatalf("import: %d %q %q", code, out, stderr)
	}
	code, out, stderr := runCLI(t, env, "check")
	want := "  [warn] " + filepath.Join(src, "2026-10-02-gone.md") + ": image: " + srvURL + "/gone.png: the server answered 404 Not Found (1 attempts); next try after "
	if code != 0 || !strings.Contains(out, "Images not kept yet (1;") || !strings.Contains(out, want) || strings.Contains(out, "ok.png") {
		t.Fatalf("check: %d\n%s\n%s\nwant the line %q", code, out, stderr, want)
	}
}

// TestServeRetriesImagesWithoutContentFolder: with no content folder
// there is no sync, yet serve retries an API article's image that failed
// on its own tick until it is kept, and its page then shows the copy.
func TestServeRetriesImagesWithoutContentFolder(t *testing.T) {
	env, _ := testEnv(t)
	env["HERALD_ADMIN_TOKEN"] = "cms-token-0123456789"
	env["HERALD_CONTENT_IMAGES_ALLOW_PRIVATE"] = "true"
	cfg, err := LoadConfig("", env)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Content.Dir = ""
	cfg.Content.Images.retry = 200 * time.Millisecond
	var photo bytes.Buffer
	png.Encode(&photo, image.NewRGBA(image.Rect(0, 0, 640, 960)))
	srv := imagefetchtest.NewServer(t, photo.Bytes(), "image/png")
	srv.SetDown(true)
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	base := "http://" + d.Addr()
	req, _ := http.NewRequest("POST", base+"/api/v1/articles", strings.NewReader(
		`{"slug":"tall","title":"Tall","date":"2026-10-05T09:00:00+02:00","image":"`+srv.URL+`/tall.png","image_alt":"A tall one","body":"Hej."}`))
	req.Header.Set("Authorization", "Bearer cms-token-0123456789")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || srv.Hits() != 1 {
		t.Fatalf("POST: %d %s, %d fetches (want the one that failed)", resp.StatusCode, msg, srv.Hits())
	}
	srv.SetDown(false)
	var kept *article.Kept
	eventually(t, 10*time.Second, "serve keeps the image on a retry", func() bool {
		a, err := d.store.GetArticle(context.Background(), "tall")
		if err == nil && a.Image != nil {
			kept = a.Image.Kept
		}
		return kept != nil
	})
	if kept.Lead.Width != kept.Lead.Height || kept.Thumb.Width != 192 {
		t.Errorf("kept %+v: want a square lead of the portrait and a thumbnail", kept)
	}
	if _, body := get(t, base+"/articles/tall"); !strings.Contains(body, kept.Original.Path) || strings.Contains(body, srv.URL) {
		t.Errorf("the article page does not show the kept copy %s", kept.Original.Path)
	}
}
