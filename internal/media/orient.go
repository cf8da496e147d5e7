package media

import (
	"image"
	"image/draw"
)

// orient returns img as a viewer shows it under EXIF orientation o
// (2–8): mirrored, rotated, or both. The pixels are copied four bytes at a
// time through an RGBA (or, with transparency, NRGBA) image.
func orient(img image.Image, o int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var src *image.RGBA
	var nsrc *image.NRGBA
	var pix []uint8
	var stride int
	if opaque(img) {
		src = image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
		pix, stride = src.Pix, src.Stride
	} else {
		nsrc = image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.Draw(nsrc, nsrc.Bounds(), img, b.Min, draw.Src)
		pix, stride = nsrc.Pix, nsrc.Stride
	}
	dw, dh := w, h
	if o >= 5 { // the transposing ones swap the sides
		dw, dh = h, w
	}
	out := make([]uint8, dw*dh*4)
	for dy := 0; dy < dh; dy++ {
		for dx := 0; dx < dw; dx++ {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = w-1-dx, dy
			case 3: // rotated 180°
				sx, sy = w-1-dx, h-1-dy
			case 4: // mirrored vertically
				sx, sy = dx, h-1-dy
			case 5: // transposed
				sx, sy = dy, dx
			case 6: // stored rotated 90° anticlockwise: turn it clockwise
				sx, sy = dy, h-1-dx
			case 7: // transversed
				sx, sy = w-1-dy, h-1-dx
			case 8: // stored rotated 90° clockwise: turn it back
				sx, sy = w-1-dy, dx
			default:
				sx, sy = dx, dy
			}
			copy(out[(dy*dw+dx)*4:][:4], pix[sy*stride+sx*4:][:4])
		}
	}
	r := image.Rect(0, 0, dw, dh)
	if src != nil {
		return &image.RGBA{Pix: out, Stride: dw * 4, Rect: r}
	}
	return &image.NRGBA{Pix: out, Stride: dw * 4, Rect: r}
}
