package media

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// photo is a w×h stand-in for a photograph: smooth gradients, hard-edged
// discs, fine stripes and a little grain, with alpha < 255 inside the
// discs when transparent is set.
func photo(w, h int, transparent bool) *image.NRGBA {
	r := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	type disc struct{ x, y, r2 float64 }
	var discs []disc
	for range 12 {
		rad := float64(min(w, h)) * (0.03 + 0.1*r.Float64())
		discs = append(discs, disc{float64(w) * r.Float64(), float64(h) * r.Float64(), rad * rad})
	}
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			cr, cg, cb, ca := 40+180*fx, 60+150*fy, 200-150*fx*fy, 255.0
			stripes := 30 * math.Sin(float64(x)*0.35+float64(y)*0.1)
			for _, d := range discs {
				if dx, dy := float64(x)-d.x, float64(y)-d.y; dx*dx+dy*dy < d.r2 {
					cr, cg, cb = 250-cr, 240-cg+stripes, 30+stripes
					if transparent {
						ca = 128
					}
				}
			}
			grain := 12 * (r.Float64() - 0.5)
			c := func(v float64) uint8 { return uint8(max(0, min(255, v+grain))) }
			m.SetNRGBA(x, y, color.NRGBA{c(cr), c(cg), c(cb), uint8(ca)})
		}
	}
	return m
}

// psnr is the peak signal-to-noise ratio of a against b over the
// premultiplied channels, in dB.
func psnr(a, b *image.RGBA) float64 {
	var se float64
	for i := range a.Pix {
		d := float64(a.Pix[i]) - float64(b.Pix[i])
		se += d * d
	}
	return 10 * math.Log10(255*255/(se/float64(len(a.Pix))))
}

// TestDeriveQuality guards the two-step scaling against visible loss: each
// derivative must stay within 35 dB PSNR of scaling the whole way with
// CatmullRom.
func TestDeriveQuality(t *testing.T) {
	for _, c := range []struct {
		name        string
		w, h, dw    int
		transparent bool
		wantBox     bool
	}{
		{"JPEG 1000 to 300", 1000, 750, 300, false, true},
		{"JPEG 1500 to 300", 1500, 500, 300, false, true},
		{"JPEG 950 to 300", 950, 600, 300, false, true},
		{"PNG with alpha 1000 to 300", 1000, 750, 300, true, true},
		{"ratio under 3: CatmullRom alone", 600, 450, 300, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var src image.Image = photo(c.w, c.h, c.transparent)
			if !c.transparent {
				var buf bytes.Buffer
				if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 90}); err != nil {
					t.Fatal(err)
				}
				var err error
				if src, err = jpeg.Decode(&buf); err != nil {
					t.Fatal(err)
				}
			}
			dh := c.h * c.dw / c.w
			got := derive(src, c.dw, dh, xdraw.CatmullRom)
			want := image.NewRGBA(got.Rect)
			xdraw.CatmullRom.Scale(want, want.Rect, src, src.Bounds(), xdraw.Src, nil)
			p := psnr(got, want)
			t.Logf("PSNR %.1f dB", p)
			if p < 35 {
				t.Errorf("PSNR against CatmullRom alone is %.1f dB, want ≥ 35", p)
			}
			if boxed := src.Bounds().Dx()*minOversizeDen/(c.dw*minOversizeNum) >= 2; boxed != c.wantBox {
				t.Errorf("box pass used: %v, want %v", boxed, c.wantBox)
			}
		})
	}
}

// TestBoxShrink checks the box average on both paths: a decoded JPEG
// must shrink exactly as the same image converted to RGBA first,
// and blocks cut by the edges average only their own pixels.
func TestBoxShrink(t *testing.T) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, photo(203, 101, false), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	ycc, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(ycc.Bounds())
	xdraw.Draw(rgba, rgba.Rect, ycc, image.Point{}, xdraw.Src)
	for _, k := range []int{2, 3, 4, 7} {
		a, b := boxShrink(ycc, k), boxShrink(rgba, k)
		if want := image.Rect(0, 0, (203+k-1)/k, (101+k-1)/k); a.Rect != want || b.Rect != want {
			t.Fatalf("k=%d: bounds %v and %v, want %v", k, a.Rect, b.Rect, want)
		}
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Errorf("k=%d: the YCbCr path differs from converting to RGBA first", k)
		}
	}

	// A 3×2 image shrunk by 2: the right column averages alone.
	m := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i, v := range []uint8{10, 20, 30, 40, 50, 60} {
		m.SetRGBA(i%3, i/3, color.RGBA{v, v, v, 255})
	}
	got := boxShrink(m, 2)
	if got.Rect.Dx() != 2 || got.Rect.Dy() != 1 {
		t.Fatalf("bounds %v, want 2×1", got.Rect)
	}
	if a, b := got.RGBAAt(0, 0).R, got.RGBAAt(1, 0).R; a != 30 || b != 45 {
		t.Errorf("means %d, %d; want 30 (10, 20, 40, 50) and 45 (30, 60)", a, b)
	}
}
