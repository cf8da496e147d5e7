package media_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store/sqlite"
	"golang.org/x/image/draw"
)

// bigJPEG is a noisy 4000×3000 photo-sized JPEG: 4.9 MB at quality 50
// (the 5 MB upload the target, under 1 s with derivatives, is set for),
// 7.2 MB at 75.
func bigJPEG(b *testing.B, quality int) []byte {
	b.Helper()
	data := encodeJPEG(b, noisy(4000, 3000, 3), quality)
	b.Logf("fixture: %d bytes", len(data))
	return data
}

// BenchmarkUpload is one upload of a big JPEG through the service into a
// SQLite store: read, strip, decode, hash, both derivatives, store. The
// upload is deleted between iterations (not timed), so deduplication never
// short-cuts it.
func BenchmarkUpload(b *testing.B) {
	for _, c := range []struct {
		name    string
		quality int
	}{{"5MB", 50}, {"7MB", 75}} {
		b.Run(c.name, func(b *testing.B) {
			data := bigJPEG(b, c.quality)
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "h.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			svc := &media.Service{Store: st}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				it, _, err := svc.Upload(context.Background(), "photo.jpg", bytes.NewReader(data), media.Actor{Email: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := st.DeleteMedia(context.Background(), it.Hash); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkDerive compares the scalers for the derivatives, processing
// the same JPEG (no store).
func BenchmarkDerive(b *testing.B) {
	data := bigJPEG(b, 50)
	for _, k := range []struct {
		name string
		s    draw.Scaler
	}{{"CatmullRom", draw.CatmullRom}, {"ApproxBiLinear", draw.ApproxBiLinear}} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := media.ProcessWith(data, k.s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
