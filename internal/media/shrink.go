package media

import (
	"image"
	"image/color"
	"image/draw"
	"runtime"
	"sync"

	xdraw "golang.org/x/image/draw"
)

// minOversize is how much wider than its target the box-averaged image
// stays: the kernel scaler then works at a ratio of 1.5 to 3, where it
// still decides the look, at a fraction of its cost on the original.
const (
	minOversizeNum = 3
	minOversizeDen = 2
)

// derive scales src to w×h: first an integer-factor box average (cheap,
// and a box of the full factor does not alias), then s for the rest.
// Scaling a 4000 px photo straight to 1200 with CatmullRom cost most of
// an upload's CPU (BENCHMARKS.md has the figures).
func derive(src image.Image, w, h int, s xdraw.Scaler) *image.RGBA {
	if k := src.Bounds().Dx() * minOversizeDen / (w * minOversizeNum); k >= 2 {
		src = boxShrink(src, k)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	s.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Src, nil)
	return dst
}

// boxShrink returns img shrunk k times in each direction, each pixel the
// mean of a k×k block (of fewer pixels at the right and bottom edges),
// premultiplied so transparency averages correctly. Decoded JPEGs are
// converted pixel by pixel as they are read, without a full-size copy.
func boxShrink(img image.Image, k int) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, (b.Dx()+k-1)/k, (b.Dy()+k-1)/k))
	var row func(oy int)
	switch m := img.(type) {
	case *image.YCbCr:
		row = func(oy int) { boxRowYCbCr(out, m, k, oy) }
	default:
		rgba, ok := img.(*image.RGBA)
		if !ok {
			rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
			draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
		}
		row = func(oy int) { boxRowRGBA(out, rgba, k, oy) }
	}
	// Rows are independent: split them over the cores, which an upload
	// otherwise leaves idle while it scales.
	n := min(runtime.GOMAXPROCS(0), out.Rect.Dy())
	var wg sync.WaitGroup
	for i := range n {
		lo, hi := out.Rect.Dy()*i/n, out.Rect.Dy()*(i+1)/n
		wg.Go(func() {
			for oy := lo; oy < hi; oy++ {
				row(oy)
			}
		})
	}
	wg.Wait()
	return out
}

// blockRows is the source rows [y0, y1) behind output row oy.
func blockRows(b image.Rectangle, k, oy int) (y0, y1 int) {
	y0 = b.Min.Y + oy*k
	return y0, min(y0+k, b.Max.Y)
}

func boxRowRGBA(out, src *image.RGBA, k, oy int) {
	b := src.Rect
	y0, y1 := blockRows(b, k, oy)
	o := out.PixOffset(0, oy)
	for x0 := b.Min.X; x0 < b.Max.X; x0 += k {
		x1 := min(x0+k, b.Max.X)
		var r, g, bl, a int
		for y := y0; y < y1; y++ {
			p := src.Pix[src.PixOffset(x0, y):src.PixOffset(x1, y)]
			for i := 0; i+3 < len(p); i += 4 {
				r += int(p[i])
				g += int(p[i+1])
				bl += int(p[i+2])
				a += int(p[i+3])
			}
		}
		n := (x1 - x0) * (y1 - y0)
		d := out.Pix[o : o+4 : o+4]
		d[0], d[1], d[2], d[3] = mean(r, n), mean(g, n), mean(bl, n), mean(a, n)
		o += 4
	}
}

func boxRowYCbCr(out *image.RGBA, src *image.YCbCr, k, oy int) {
	b := src.Rect
	y0, y1 := blockRows(b, k, oy)
	// hs source pixels share a chroma sample across.
	hs := 1
	switch src.SubsampleRatio {
	case image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420:
		hs = 2
	case image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410:
		hs = 4
	}
	o := out.PixOffset(0, oy)
	for x0 := b.Min.X; x0 < b.Max.X; x0 += k {
		x1 := min(x0+k, b.Max.X)
		var r, g, bl int
		for y := y0; y < y1; y++ {
			yi, ci := src.YOffset(x0, y), src.COffset(x0, y)
			for x := x0; x < x1; x++ {
				c := ci + x/hs - x0/hs
				pr, pg, pb := color.YCbCrToRGB(src.Y[yi+x-x0], src.Cb[c], src.Cr[c])
				r, g, bl = r+int(pr), g+int(pg), bl+int(pb)
			}
		}
		n := (x1 - x0) * (y1 - y0)
		d := out.Pix[o : o+4 : o+4]
		d[0], d[1], d[2], d[3] = mean(r, n), mean(g, n), mean(bl, n), 0xff
		o += 4
	}
}

// mean is sum/n rounded to the nearest.
func mean(sum, n int) uint8 { return uint8((sum + n/2) / n) }
