package imagefetch

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	xdraw "golang.org/x/image/draw"
)

// ThumbSize is the side of a thumbnail in pixels: twice the 96 px a
// digest's compact list shows it at, for dense screens.
const ThumbSize = 192

// leadRect is the part of a w×h image a lead story shows: all of it
// when its aspect ratio lies between 1:1 and 16:9, else the centre cut
// to 16:9 (a panorama) or to 1:1 (a portrait, never taller than wide).
func leadRect(w, h int) image.Rectangle {
	switch {
	case w*9 > h*16:
		cw := max(1, (h*16+4)/9)
		x := (w - cw) / 2
		return image.Rect(x, 0, x+cw, h)
	case h > w:
		y := (h - w) / 2
		return image.Rect(0, y, w, y+w)
	}
	return image.Rect(0, 0, w, h)
}

// thumbRect is the square at the centre of a w×h image.
func thumbRect(w, h int) image.Rectangle {
	s := min(w, h)
	x, y := (w-s)/2, (h-s)/2
	return image.Rect(x, y, x+s, y+s)
}

// crop returns the part r of img (r relative to img's bounds) scaled to
// at most width pixels wide.
func crop(img image.Image, r image.Rectangle, width int) image.Image {
	b := img.Bounds()
	r = r.Add(b.Min)
	w, h := r.Dx(), r.Dy()
	if width > 0 && w > width {
		w, h = width, max(1, (r.Dy()*width+r.Dx()/2)/r.Dx())
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if w == r.Dx() && h == r.Dy() {
		xdraw.Copy(dst, image.Point{}, img, r, xdraw.Src, nil)
	} else {
		xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, r, xdraw.Src, nil)
	}
	return dst
}

// encode writes img as JPEG, or as PNG when it has transparency.
func encode(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
	}
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}
