package content

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/imagefetch"
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
	var hits atomic.Int32
	var up atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if !up.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(body)
	}))
	defer srv.Close()
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
	up.Store(true)
	rep, err = s.Sync(ctx)
	if err != nil || hits.Load() != 1 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Error(), "next try after") {
		t.Fatalf("sync before the retry: %v, %v, %d fetches, warnings %v", rep, err, hits.Load(), rep.Warnings)
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
	if hits.Load() != 2 || a.Image == nil || a.Image.Kept == nil || a.Title != "Harbour, retitled" {
		t.Errorf("%d fetches in all, want 2; image %+v", hits.Load(), a.Image)
	}
}
