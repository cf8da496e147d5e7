package media_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/media"
	"golang.org/x/image/webp"
)

// secrets are what the fixtures hide in metadata; no stored byte may
// carry them.
var secrets = [][]byte{[]byte("Exif"), []byte("secret"), []byte("ICC_PROFILE"), gpsLatitude}

func noSecrets(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(b, s) {
			t.Errorf("%s still holds %q", what, s)
		}
	}
}

func decodeAny(t *testing.T, b []byte) image.Image {
	t.Helper()
	m, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

// samePixels compares two images pixel by pixel, as decoded.
func samePixels(t *testing.T, what string, a, b image.Image) {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("%s: bounds %v, want %v", what, a.Bounds(), b.Bounds())
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
				t.Fatalf("%s: pixel (%d,%d) differs: %v, want %v", what, x, y, a.At(x, y), b.At(x, y))
			}
		}
	}
}

// near reports whether c is within 40 of want in every channel (JPEG
// moves colours a little).
func near(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(v uint32, w uint8) bool { x := int(v>>8) - int(w); return x > -40 && x < 40 }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

func process(t *testing.T, data []byte) media.Item {
	t.Helper()
	it, err := media.Process(data)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	if len(it.Hash) != 32 {
		t.Errorf("hash %q: want 32 hex characters", it.Hash)
	}
	again, err := media.Process(it.Original.Data)
	if err != nil || again.Hash != it.Hash || !bytes.Equal(again.Original.Data, it.Original.Data) {
		t.Errorf("processing the stored original again changes it (%v)", err)
	}
	return it
}

// checkDerivatives checks the widths, aspect and type of it's derivatives.
func checkDerivatives(t *testing.T, it media.Item, widths []int, ct string) {
	t.Helper()
	if len(it.Derivatives) != len(widths) {
		t.Fatalf("%d derivatives, want widths %v", len(it.Derivatives), widths)
	}
	for i, d := range it.Derivatives {
		if d.Width != widths[i] || d.ContentType != ct || d.Size != int64(len(d.Data)) {
			t.Errorf("derivative %d: %d wide %s, want %d wide %s", i, d.Width, d.ContentType, widths[i], ct)
		}
		wantH := (it.Original.Height*d.Width + it.Original.Width/2) / it.Original.Width
		if d.Height != wantH {
			t.Errorf("derivative %d: %dx%d, want height %d (the original's aspect)", i, d.Width, d.Height, wantH)
		}
		m := decodeAny(t, d.Data)
		if m.Bounds().Dx() != d.Width || m.Bounds().Dy() != d.Height {
			t.Errorf("derivative %d decodes as %v, recorded %dx%d", i, m.Bounds(), d.Width, d.Height)
		}
		noSecrets(t, "derivative", d.Data)
	}
}

func TestProcessJPEG(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		m := quadrant(1300, 650)
		in := exifJPEG(t, m, 1)
		it := process(t, in)
		noSecrets(t, "original", it.Original.Data)
		if it.Original.ContentType != media.JPEG || it.Original.Width != 1300 || it.Original.Height != 650 {
			t.Errorf("original = %s %dx%d", it.Original.ContentType, it.Original.Width, it.Original.Height)
		}
		// Not re-encoded: the very image uploaded, without what was added.
		if !bytes.Equal(it.Original.Data, encodeJPEG(t, m, 95)) {
			t.Errorf("stripped original (%d bytes) is not the image alone", it.Original.Size)
		}
		samePixels(t, "stripped", decodeAny(t, it.Original.Data), decodeAny(t, in))
		checkDerivatives(t, it, []int{600, 1200}, media.JPEG)
	})

	// Orientation 6: stored turned 90° anticlockwise, shown turned back.
	t.Run("Orientation", func(t *testing.T) {
		for o, at := range map[int]image.Point{
			1: {16, 8}, 2: {48, 8}, 3: {48, 24}, 4: {16, 24}, 5: {8, 16}, 6: {24, 16}, 7: {24, 48}, 8: {8, 48},
		} {
			it := process(t, exifJPEG(t, quadrant(64, 32), o))
			noSecrets(t, "original", it.Original.Data)
			m := decodeAny(t, it.Original.Data)
			w, h := 64, 32
			if o >= 5 {
				w, h = 32, 64
			}
			if m.Bounds().Dx() != w || m.Bounds().Dy() != h || it.Original.Width != w || it.Original.Height != h {
				t.Fatalf("orientation %d: %v, recorded %dx%d; want %dx%d", o, m.Bounds(), it.Original.Width, it.Original.Height, w, h)
			}
			if !near(m.At(at.X, at.Y), red) {
				t.Errorf("orientation %d: %v at %v, want red", o, m.At(at.X, at.Y), at)
			}
			if c := m.At(w-1-at.X, h-1-at.Y); !near(c, green) {
				t.Errorf("orientation %d: %v opposite %v, want green", o, c, at)
			}
		}
	})
}

func TestProcessPNG(t *testing.T) {
	t.Run("Alpha", func(t *testing.T) {
		m := image.NewNRGBA(image.Rect(0, 0, 1300, 650))
		draw.Draw(m, image.Rect(0, 0, 650, 650), image.NewUniform(color.NRGBA{0, 0, 255, 255}), image.Point{}, draw.Src)
		plain := encodePNG(t, m)
		in := withChunks(plain,
			pngChunk("tEXt", []byte("Comment\x00secret-text")),
			pngChunk("eXIf", exifTIFF(1)),
			pngChunk("iCCP", []byte("secret-icc\x00\x00xx")),
			pngChunk("tIME", []byte{7, 234, 12, 6, 10, 0, 0}))
		in = append(in, "secret-trailer"...)
		it := process(t, in)
		noSecrets(t, "original", it.Original.Data)
		if !bytes.Equal(it.Original.Data, plain) {
			t.Errorf("stripped PNG (%d bytes) is not the image alone (%d bytes)", len(it.Original.Data), len(plain))
		}
		checkDerivatives(t, it, []int{600, 1200}, media.PNG)
		d := decodeAny(t, it.Derivatives[0].Data)
		if _, _, _, a := d.At(500, 100).RGBA(); a != 0 {
			t.Errorf("derivative: alpha %d where the image is transparent", a)
		}
		if _, _, b, a := d.At(100, 100).RGBA(); a != 0xffff || b < 0xf000 {
			t.Errorf("derivative: %v where the image is opaque blue", d.At(100, 100))
		}
	})

	t.Run("OpaqueSmall", func(t *testing.T) {
		it := process(t, encodePNG(t, quadrant(500, 300)))
		if it.Original.ContentType != media.PNG || len(it.Derivatives) != 0 {
			t.Errorf("500 px PNG: %s with %d derivatives, want PNG and none (never scaled up)", it.Original.ContentType, len(it.Derivatives))
		}
		if u := it.DerivativeURL(600); u != it.URL() || !strings.HasSuffix(u, ".png") {
			t.Errorf("DerivativeURL(600) = %s, want the original %s", u, it.URL())
		}
	})

	t.Run("Orientation", func(t *testing.T) {
		it := process(t, withChunks(encodePNG(t, quadrant(64, 32)), pngChunk("eXIf", exifTIFF(6))))
		m := decodeAny(t, it.Original.Data)
		if it.Original.ContentType != media.PNG || m.Bounds().Dx() != 32 || !near(m.At(24, 16), red) {
			t.Errorf("orientation 6 in eXIf: %s %v, %v at (24,16)", it.Original.ContentType, m.Bounds(), m.At(24, 16))
		}
	})
}

func TestProcessGIF(t *testing.T) {
	in := animatedGIF(t, 700, 400)
	it := process(t, in)
	noSecrets(t, "original", it.Original.Data)
	g, err := gif.DecodeAll(bytes.NewReader(it.Original.Data))
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := gif.DecodeAll(bytes.NewReader(in))
	if len(g.Image) != 2 || g.LoopCount != orig.LoopCount || g.Delay[1] != 50 {
		t.Fatalf("stored GIF: %d frames, loop %d; want 2 frames that loop", len(g.Image), g.LoopCount)
	}
	for i := range g.Image {
		samePixels(t, "frame", g.Image[i], orig.Image[i])
	}
	// The derivative is a still of the first frame.
	checkDerivatives(t, it, []int{600}, media.JPEG)
	d := decodeAny(t, it.Derivatives[0].Data)
	if !near(d.At(300, 170), red) {
		t.Errorf("derivative: %v, want the first frame's red", d.At(300, 170))
	}
}

func TestProcessWebP(t *testing.T) {
	simple := readFile(t, "testdata/blue-purple-pink.lossy.webp")

	t.Run("OK", func(t *testing.T) {
		it := process(t, simple)
		if it.Original.ContentType != media.WebP || it.Original.Width != 150 || it.Original.Height != 100 || !bytes.Equal(it.Original.Data, simple) {
			t.Errorf("plain WebP: %s %dx%d, changed %v", it.Original.ContentType, it.Original.Width, it.Original.Height, !bytes.Equal(it.Original.Data, simple))
		}
		if !strings.HasSuffix(it.URL(), ".webp") {
			t.Errorf("URL %s", it.URL())
		}
	})

	t.Run("Alpha", func(t *testing.T) {
		it := process(t, readFile(t, "testdata/yellow_rose.lossy-with-alpha.webp"))
		if it.Original.Width != 400 || len(it.Derivatives) != 0 {
			t.Errorf("400 px WebP: %d wide, %d derivatives", it.Original.Width, len(it.Derivatives))
		}
	})

	t.Run("ICC", func(t *testing.T) {
		in := readFile(t, "testdata/gopher-doc.with-alpha.lossless.webp")
		it := process(t, in)
		if bytes.Contains(it.Original.Data, []byte("ICCP")) || it.Original.Data[20]&0x20 != 0 {
			t.Error("the ICC profile chunk or its flag is still there")
		}
		a, err := webp.Decode(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		samePixels(t, "stripped", decodeAny(t, it.Original.Data), a)
	})

	// EXIF and XMP chunks in the extended format: stripped, the
	// orientation applied (re-encoded as JPEG: x/image writes no WebP).
	t.Run("Orientation", func(t *testing.T) {
		const exif, xmp = 1 << 3, 1 << 2
		in := riff(vp8x(exif|xmp, 150, 100), vp8Chunk(t, simple),
			riffChunk("EXIF", exifTIFF(6)), riffChunk("XMP ", []byte("<x:xmpmeta>secret-xmp</x:xmpmeta>")))
		if _, err := webp.Decode(bytes.NewReader(in)); err != nil {
			t.Fatalf("fixture: %v", err)
		}
		it := process(t, in)
		noSecrets(t, "original", it.Original.Data)
		if it.Original.ContentType != media.JPEG || it.Original.Width != 100 || it.Original.Height != 150 {
			t.Errorf("orientation 6: %s %dx%d, want JPEG 100x150", it.Original.ContentType, it.Original.Width, it.Original.Height)
		}
	})

	t.Run("StripOnly", func(t *testing.T) {
		const exif, xmp = 1 << 3, 1 << 2
		in := riff(vp8x(exif|xmp, 150, 100), vp8Chunk(t, simple), riffChunk("XMP ", []byte("secret-xmp!")))
		it := process(t, in)
		noSecrets(t, "original", it.Original.Data)
		if it.Original.ContentType != media.WebP || it.Original.Data[20] != 0 {
			t.Errorf("%s, VP8X flags %#x; want WebP with no metadata flags", it.Original.ContentType, it.Original.Data[20])
		}
		samePixels(t, "stripped", decodeAny(t, it.Original.Data), decodeAny(t, simple))
	})

	t.Run("ErrAnimated", func(t *testing.T) {
		in := riff(vp8x(1<<1, 150, 100), riffChunk("ANIM", make([]byte, 6)))
		if _, err := media.Process(in); !errors.Is(err, media.ErrUnsupported) || !strings.Contains(err.Error(), "animated WebP") {
			t.Errorf("animated WebP: %v, want ErrUnsupported naming it", err)
		}
	})
}

func TestProcessRefused(t *testing.T) {
	jpg := encodeJPEG(t, quadrant(64, 32), 90)
	huge := encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	// A 1×1 PNG claiming 20000×20000 in its header (CRC fixed).
	ihdr := append([]byte(nil), huge[16:29]...)
	ihdr[0], ihdr[1], ihdr[2], ihdr[3] = 0, 0, 0x4e, 0x20
	ihdr[4], ihdr[5], ihdr[6], ihdr[7] = 0, 0, 0x4e, 0x20
	huge = append(append(append([]byte(nil), huge[:8]...), pngChunk("IHDR", ihdr)...), huge[33:]...)
	for _, c := range []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"Text", []byte("Dear editor, here are my notes.\n"), media.ErrUnsupported, "JPEG, PNG, WebP or GIF"},
		{"Empty", nil, media.ErrUnsupported, "JPEG, PNG, WebP or GIF"},
		{"SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), media.ErrUnsupported, ""},
		{"TruncatedJPEG", jpg[:len(jpg)/2], media.ErrInvalid, "JPEG"},
		{"DamagedPNG", []byte("\x89PNG\r\n\x1a\nrubbish"), media.ErrInvalid, "PNG"},
		{"TooManyPixels", huge, media.ErrInvalid, "megapixels"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := media.Process(c.data)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("Process: %v, want %v saying %q", err, c.want, c.msg)
			}
		})
	}
}

// TestTestdataJPEG reads the JPEG exiftool wrote (testdata/README.md):
// EXIF orientation 6 with GPS, XMP and a comment. Everything goes, and
// the pixels turn.
func TestTestdataJPEG(t *testing.T) {
	in := readFile(t, "testdata/orient6-gps.jpg")
	for _, s := range []string{"Exif", "xmpmeta", "Herald test"} {
		if !bytes.Contains(in, []byte(s)) {
			t.Fatalf("fixture lacks %q", s)
		}
	}
	stored, _ := jpeg.DecodeConfig(bytes.NewReader(in))
	it := process(t, in)
	for _, s := range []string{"Exif", "xmpmeta", "Herald test", "ns.adobe.com", "ExifTool"} {
		if bytes.Contains(it.Original.Data, []byte(s)) {
			t.Errorf("stored original still holds %q", s)
		}
	}
	if it.Original.Width != stored.Height || it.Original.Height != stored.Width {
		t.Errorf("stored %dx%d, original %dx%d: want it turned", stored.Width, stored.Height, it.Original.Width, it.Original.Height)
	}
	m := decodeAny(t, it.Original.Data)
	// The fixture is quadrant(64, 32): red top-left, stored; shown, top-right.
	if !near(m.At(24, 16), red) || !near(m.At(8, 16), green) {
		t.Errorf("turned pixels: %v at (24,16), %v at (8,16); want red, green", m.At(24, 16), m.At(8, 16))
	}
}

func TestParseName(t *testing.T) {
	h := strings.Repeat("ab", 16)
	for _, c := range []struct {
		in    string
		width int
		ext   string
		ok    bool
	}{
		{h + ".jpg", 0, "jpg", true},
		{h + "-600.png", 600, "png", true},
		{h + "-0600.jpg", 0, "", false},
		{h + "-0.jpg", 0, "", false},
		{h + "-x.jpg", 0, "", false},
		{h + ".tar.gz", 0, "", false},
		{h, 0, "", false},
		{strings.ToUpper(h) + ".jpg", 0, "", false},
		{h[:30] + ".jpg", 0, "", false},
		{"../" + h + ".jpg", 0, "", false},
	} {
		hash, width, ext, ok := media.ParseName(c.in)
		if ok != c.ok || (ok && (hash != h || width != c.width || ext != c.ext)) {
			t.Errorf("ParseName(%q) = %q, %d, %q, %v", c.in, hash, width, ext, ok)
		}
	}
	it := media.Item{Hash: h, Original: media.File{ContentType: media.GIF},
		Derivatives: []media.File{{Width: 600, ContentType: media.JPEG}}}
	if it.URL() != "/media/u/"+h+".gif" || it.DerivativeURL(600) != "/media/u/"+h+"-600.jpg" || it.DerivativeURL(1200) != it.URL() {
		t.Errorf("URLs: %s %s %s", it.URL(), it.DerivativeURL(600), it.DerivativeURL(1200))
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1000: "1000 B", 1024: "1 KiB", 1536: "1.5 KiB", 10 << 20: "10 MiB", 3 << 30: "3 GiB"} {
		if got := media.FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
