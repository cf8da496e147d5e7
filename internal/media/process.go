package media

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// MaxPixels bounds width × height: a small file can declare a huge
// canvas, and decoding one allocates 4 bytes a pixel.
const MaxPixels = 64 << 20

// JPEG qualities: a re-encoded original (only when its orientation must
// be applied) stays close to the upload; derivatives are for screens.
const (
	originalQuality   = 92
	derivativeQuality = 85
)

// scaler makes derivatives. CatmullRom is sharper than ApproxBiLinear on
// downscaled photos; BenchmarkDerive compares their cost (BENCHMARKS.md,
// "Media upload").
var scaler = xdraw.CatmullRom

// Process turns the bytes of an uploaded or fetched image into what is
// stored: the original without metadata (re-encoded only when its EXIF
// orientation had to be applied), its size and content type, its hash,
// and its derivatives. Name, CreatedAt and CreatedBy are left for the
// caller. Errors wrap ErrUnsupported or ErrInvalid.
func Process(data []byte) (Item, error) {
	p, err := prepare(data)
	if err != nil {
		return Item{}, err
	}
	return p.finish(scaler)
}

// prepared is an image decoded and stripped, before its derivatives:
// enough to know its hash, so a repeated upload costs no resizing.
type prepared struct {
	hash     string
	original File
	img      image.Image // oriented; for GIF the first frame on its canvas
}

func prepare(data []byte) (*prepared, error) {
	ct := sniff(data)
	if ct == "" {
		return nil, ErrUnsupported
	}
	invalid := func(err error) error { return fmt.Errorf("%w: %s: %w", ErrInvalid, typeName(ct), err) }
	stripped, orientation, err := strip(ct, data)
	if errors.Is(err, errAnimatedWebP) {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	if err != nil {
		return nil, invalid(err)
	}
	cfg, err := decodeConfig(ct, stripped)
	if err != nil {
		return nil, invalid(err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, invalid(errors.New("it has no pixels"))
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, invalid(fmt.Errorf("%d×%d pixels is more than the %d megapixels Herald decodes", cfg.Width, cfg.Height, MaxPixels>>20))
	}
	img, err := decode(ct, stripped, cfg)
	if err != nil {
		return nil, invalid(err)
	}
	if orientation > 1 {
		img = orient(img, orientation)
		if stripped, ct, err = encodeOriginal(ct, img); err != nil {
			return nil, err
		}
	}
	sum := sha256.Sum256(stripped)
	b := img.Bounds()
	return &prepared{
		hash:     hex.EncodeToString(sum[:hashLen/2]),
		original: File{Width: b.Dx(), Height: b.Dy(), ContentType: ct, Size: int64(len(stripped)), Data: stripped},
		img:      img,
	}, nil
}

func typeName(ct string) string {
	switch ct {
	case JPEG:
		return "JPEG"
	case PNG:
		return "PNG"
	case GIF:
		return "GIF"
	}
	return "WebP"
}

func decodeConfig(ct string, data []byte) (image.Config, error) {
	r := bytes.NewReader(data)
	switch ct {
	case JPEG:
		return jpeg.DecodeConfig(r)
	case PNG:
		return png.DecodeConfig(r)
	case GIF:
		return gif.DecodeConfig(r)
	}
	return webp.DecodeConfig(r)
}

// decode decodes the image; a GIF's first frame is drawn on the canvas
// the file declares, as a viewer shows it.
func decode(ct string, data []byte, cfg image.Config) (image.Image, error) {
	r := bytes.NewReader(data)
	switch ct {
	case JPEG:
		return jpeg.Decode(r)
	case PNG:
		return png.Decode(r)
	case GIF:
		frame, err := gif.Decode(r)
		if err != nil {
			return nil, err
		}
		canvas := image.Rect(0, 0, cfg.Width, cfg.Height)
		if frame.Bounds() == canvas {
			return frame, nil
		}
		m := image.NewNRGBA(canvas)
		draw.Draw(m, frame.Bounds(), frame, frame.Bounds().Min, draw.Src)
		return m, nil
	}
	return webp.Decode(r)
}

// opaque reports whether img has no transparent pixel.
func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// encodeOriginal re-encodes an original whose orientation was applied:
// as it was, except WebP, which x/image cannot write (PNG where it has
// transparency, else JPEG).
func encodeOriginal(ct string, img image.Image) ([]byte, string, error) {
	var buf bytes.Buffer
	var err error
	switch {
	case ct == JPEG || (ct == WebP && opaque(img)):
		ct = JPEG
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: originalQuality})
	default:
		ct = PNG
		err = png.Encode(&buf, img)
	}
	if err != nil {
		return nil, "", fmt.Errorf("media: encode: %w", err)
	}
	return buf.Bytes(), ct, nil
}

// finish makes the derivatives: one per derivative width narrower than
// the original, JPEG or, where the image has transparency, PNG. Each is
// scaled from the next wider one already made, which costs a fraction of
// scaling from the original again and looks the same at these ratios;
// derive box-averages first where the ratio is large.
func (p *prepared) finish(s xdraw.Scaler) (Item, error) {
	it := Item{Hash: p.hash, Original: p.original}
	src := p.img
	alpha := !opaque(src)
	b := src.Bounds()
	for k := len(derivativeWidths) - 1; k >= 0; k-- {
		w := derivativeWidths[k]
		if w >= b.Dx() {
			continue
		}
		h := max(1, (b.Dy()*w+b.Dx()/2)/b.Dx())
		dst := derive(src, w, h, s)
		var buf bytes.Buffer
		ct := JPEG
		var err error
		if alpha {
			ct = PNG
			err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, dst)
		} else {
			err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: derivativeQuality})
		}
		if err != nil {
			return Item{}, fmt.Errorf("media: encode derivative: %w", err)
		}
		it.Derivatives = append([]File{{Width: w, Height: h, ContentType: ct, Size: int64(buf.Len()), Data: buf.Bytes()}}, it.Derivatives...)
		src = dst
	}
	return it, nil
}
