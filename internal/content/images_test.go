package content

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/confined"
	"github.com/herald-news/herald/internal/imagefetch"
	"github.com/herald-news/herald/internal/imagefetch/imagefetchtest"
	"github.com/herald-news/herald/internal/media"
)

// photo is a real PNG of w×h pixels.
func photo(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), 0x60, 0xff})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSyncRemoteImage: an article whose remote image cannot be fetched is
// imported anyway, with a warning naming its file; a later sync fetches
// the image once it answers, and later syncs never fetch it again.
func TestSyncRemoteImage(t *testing.T) {
	ctx := context.Background()
	s, st, dir := setup(t)
	body := photo(t, 900, 1200) // a portrait
	srv := imagefetchtest.NewServer(t, body, "image/png")
	srv.SetDown(true)
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	s.Now = now
	f := imagefetch.New(imagefetch.Options{AllowPrivate: true})
	defer f.Close()
	s.Images = &imagefetch.Keeper{Fetcher: f, Media: &media.Service{Store: st, Now: now}, Store: st, Now: now}
	url := srv.URL + "/photos/harbour.png"
	write(t, dir, "2026-10-01-harbour.md", art("Harbour", "image: "+url+"\nimage_alt: The harbour\n"))

	rep, err := s.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "2026-10-01-harbour.md") + ": image: " + url + ": the server answered 503 Service Unavailable"
	if rep.Added != 1 || len(rep.Errors) != 0 || len(rep.Warnings) != 1 || rep.Warnings[0].Error() != want {
		t.Fatalf("first sync: %v, errors %v, warnings %v; want the warning %q", rep, rep.Errors, rep.Warnings, want)
	}
	a, err := st.GetArticle(ctx, "harbour")
	if err != nil || a.Image == nil || a.Image.URL != url || a.Image.Kept != nil {
		t.Fatalf("after a failed fetch: %+v, %v", a, err)
	}

	// Before the retry is due: no fetch, the warning says when.
	srv.SetDown(false)
	rep, err = s.Sync(ctx)
	if err != nil || srv.Hits() != 1 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Error(), "next try after") {
		t.Fatalf("sync before the retry: %v, %v, %d fetches, warnings %v", rep, err, srv.Hits(), rep.Warnings)
	}

	clock = clock.Add(3 * time.Minute)
	rep, err = s.Sync(ctx)
	if err != nil || rep.Images != 1 || len(rep.Warnings) != 0 || rep.Unchanged != 1 {
		t.Fatalf("sync after the retry is due: %v, %v, warnings %v", rep, err, rep.Warnings)
	}
	a, err = st.GetArticle(ctx, "harbour")
	if err != nil || a.Image == nil || a.Image.Kept == nil {
		t.Fatalf("after a successful fetch: %+v, %v", a.Image, err)
	}
	k := a.Image.Kept
	if a.Image.URL != url || k.Original.Width != 900 || k.Original.Height != 1200 || a.Image.Width != 900 ||
		!strings.HasPrefix(k.Original.Path, media.Prefix) {
		t.Errorf("kept original: %+v", a.Image)
	}
	// The portrait's lead is cut square; the thumbnail is a square.
	if k.Lead.Width != k.Lead.Height || k.Lead.Width != 900 || k.Thumb.Width != imagefetch.ThumbSize || k.Thumb.Height != imagefetch.ThumbSize {
		t.Errorf("lead %+v, thumb %+v", k.Lead, k.Thumb)
	}

	// Kept once: later syncs, and an edited file, fetch nothing.
	write(t, dir, "2026-10-01-harbour.md", art("Harbour, retitled", "image: "+url+"\n"))
	for range 2 {
		if rep, err = s.Sync(ctx); err != nil || len(rep.Warnings) != 0 {
			t.Fatalf("later sync: %v, %v, %v", rep, err, rep.Warnings)
		}
	}
	a, _ = st.GetArticle(ctx, "harbour")
	if srv.Hits() != 2 || a.Image == nil || a.Image.Kept == nil || a.Title != "Harbour, retitled" {
		t.Errorf("%d fetches in all, want 2; image %+v", srv.Hits(), a.Image)
	}
}

// TestSyncLocalImages: a content-folder image and an upload used as an
// article image get a kept copy with a lead crop and a thumbnail, like a
// remote one; the upload's is cut from its original, not the derivative
// the article names; a file replaced under the same name is cut again at
// the next sync, and only then.
func TestSyncLocalImages(t *testing.T) {
	ctx := context.Background()
	s, st, dir := setup(t)
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	ms := &media.Service{Store: st, Now: now}
	s.Images = &imagefetch.Keeper{Media: ms, Store: st, Content: confined.FS(dir), Now: now}
	write(t, dir, "images/portrait.png", string(photo(t, 600, 900)))
	write(t, dir, "2026-10-01-file.md", art("File", "image: images/portrait.png\n"))
	up, _, err := ms.Upload(ctx, "tall.png", bytes.NewReader(photo(t, 1300, 1950)), media.Actor{Email: "editor@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Derivatives) != 2 {
		t.Fatalf("upload derivatives %+v", up.Derivatives)
	}
	d := up.Derivatives[1]
	write(t, dir, "2026-10-02-upload.md", art("Upload", "image: "+media.DerivativeURL(up.Hash, d.Width, d.Ext())+"\n"))

	rep, err := s.Sync(ctx)
	if err != nil || rep.Added != 2 || rep.Images != 2 || len(rep.Warnings) != 0 {
		t.Fatalf("first sync: %v, %v, warnings %v", rep, err, rep.Warnings)
	}
	file, _ := st.GetArticle(ctx, "file")
	k := file.Image.Kept
	if k == nil || file.Image.MediaPath != "images/portrait.png" || !strings.HasPrefix(k.Original.Path, media.Prefix) ||
		k.Original.Width != 600 || k.Original.Height != 900 || k.Stamp == "" {
		t.Fatalf("content-folder image: %+v kept %+v", file.Image, k)
	}
	if k.Lead.Width != 600 || k.Lead.Height != 600 || k.Thumb.Width != imagefetch.ThumbSize || k.Thumb.Height != imagefetch.ThumbSize {
		t.Errorf("content-folder portrait: lead %+v, thumb %+v; want a 600 px square and a thumbnail", k.Lead, k.Thumb)
	}
	upl, _ := st.GetArticle(ctx, "upload")
	ku := upl.Image.Kept
	if ku == nil || ku.Original.Path != up.URL() || ku.Original.Width != 1300 || ku.Lead.Width != 1200 || ku.Lead.Height != 1200 {
		t.Fatalf("upload image: %+v kept %+v; want the original %s and a 1200 px square lead", upl.Image, ku, up.URL())
	}
	if uses, err := st.MediaUsage(ctx, up.Hash); err != nil || len(uses) != 1 {
		t.Errorf("the upload's uses: %+v, %v", uses, err)
	}

	// Unchanged: nothing cut again.
	if rep, err = s.Sync(ctx); err != nil || rep.Images != 0 {
		t.Fatalf("second sync: %v, %v", rep, err)
	}
	// Replaced in place by a panorama: cut again, as 16:9.
	write(t, dir, "images/portrait.png", string(photo(t, 1000, 500)))
	rep, err = s.Sync(ctx)
	if err != nil || rep.Images != 1 || rep.Unchanged != 2 || len(rep.Warnings) != 0 {
		t.Fatalf("sync after the replacement: %v, %v, warnings %v", rep, err, rep.Warnings)
	}
	file, _ = st.GetArticle(ctx, "file")
	k2 := file.Image.Kept
	if k2 == nil || k2.Original.Width != 1000 || k2.Original.Height != 500 || file.Image.Width != 1000 ||
		k2.Lead.Height != 500 || k2.Lead.Width*9 > k2.Lead.Height*16+9 || k2.Stamp == k.Stamp {
		t.Fatalf("after the replacement: %+v kept %+v", file.Image, k2)
	}
	if rep, err = s.Sync(ctx); err != nil || rep.Images != 0 {
		t.Fatalf("sync after the recut: %v, %v", rep, err)
	}

	// Replaced by a file that is no image: the copy stays, and the file
	// is tried again only after the pause, not at every sync.
	write(t, dir, "images/portrait.png", "not an image")
	attempts := func() int {
		ri, err := st.RemoteImage(ctx, "/images/portrait.png")
		if err != nil || ri.Kept == nil || ri.Kept.Stamp != k2.Stamp {
			t.Fatalf("kept image after a broken replacement: %+v, %v", ri, err)
		}
		return ri.Attempts
	}
	for i, want := range []int{1, 1} {
		if rep, err = s.Sync(ctx); err != nil || rep.Images != 0 {
			t.Fatalf("sync %d after a broken replacement: %v, %v", i, rep, err)
		}
		if got := attempts(); got != want {
			t.Fatalf("sync %d after a broken replacement: %d attempts, want %d", i, got, want)
		}
	}
	clock = clock.Add(2 * time.Minute)
	if rep, err = s.Sync(ctx); err != nil || rep.Images != 0 || attempts() != 2 {
		t.Fatalf("sync after the pause: %v, %v, %d attempts", rep, err, attempts())
	}
	// Mended: cut again after the pause, and the failures are forgotten.
	write(t, dir, "images/portrait.png", string(photo(t, 800, 400)))
	clock = clock.Add(5 * time.Minute)
	rep, err = s.Sync(ctx)
	ri, rerr := st.RemoteImage(ctx, "/images/portrait.png")
	if err != nil || rep.Images != 1 || rerr != nil || ri.Attempts != 0 || ri.Kept.Original.Width != 800 {
		t.Fatalf("sync after the mend: %v, %v; kept %+v, %v", rep, err, ri, rerr)
	}
}
