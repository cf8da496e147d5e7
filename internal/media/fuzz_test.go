package media_test

import (
	"bytes"
	"image"
	"testing"

	"github.com/herald-news/herald/internal/media"
)

// FuzzProcess: whatever the bytes, Process returns an error or an upload
// whose stored original processes again to itself (stripping is done
// once and for all) and whose sizes are what its files decode to.
func FuzzProcess(f *testing.F) {
	f.Add(exifJPEG(f, quadrant(64, 32), 6))
	f.Add(withChunks(encodePNG(f, quadrant(40, 20)), pngChunk("tEXt", []byte("k\x00secret")), pngChunk("eXIf", exifTIFF(3))))
	f.Add(animatedGIF(f, 30, 20))
	f.Add(readFile(f, "testdata/blue-purple-pink.lossy.webp"))
	f.Add(readFile(f, "testdata/gopher-doc.with-alpha.lossless.webp"))
	f.Add([]byte("RIFF\x04\x00\x00\x00WEBP"))
	f.Add([]byte("GIF89a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		it, err := media.Process(data)
		if err != nil {
			return
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(it.Original.Data))
		if err != nil || cfg.Width != it.Original.Width || cfg.Height != it.Original.Height {
			t.Fatalf("stored original decodes as %dx%d (%v), recorded %dx%d", cfg.Width, cfg.Height, err, it.Original.Width, it.Original.Height)
		}
		again, err := media.Process(it.Original.Data)
		if err != nil || again.Hash != it.Hash {
			t.Fatalf("the stored original does not process to itself: %v", err)
		}
	})
}

// FuzzStrip: the strippers never panic and never grow a file by more
// than the GIF trailer they may add.
func FuzzStrip(f *testing.F) {
	f.Add(exifJPEG(f, quadrant(16, 8), 6))
	f.Add(withChunks(encodePNG(f, quadrant(8, 8)), pngChunk("iTXt", []byte("secret"))))
	f.Add(animatedGIF(f, 8, 8))
	f.Add(readFile(f, "testdata/yellow_rose.lossy-with-alpha.webp"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ct := range []string{media.JPEG, media.PNG, media.GIF, media.WebP} {
			out, o, err := media.Strip(ct, data)
			if err == nil && (len(out) > len(data)+1 || o < 1 || o > 8) {
				t.Fatalf("%s: %d bytes in, %d out, orientation %d", ct, len(data), len(out), o)
			}
		}
	})
}
