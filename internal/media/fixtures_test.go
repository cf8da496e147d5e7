package media_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"testing"
)

// Images are made here, by Go's encoders, and given metadata by hand
// the way cameras and editors write it; testdata/ holds what only
// another tool can make.

var (
	red   = color.RGBA{220, 30, 30, 255}
	green = color.RGBA{30, 200, 60, 255}
)

// quadrant is w×h, red in its top-left quarter and green elsewhere: any
// turn or mirror moves the red.
func quadrant(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := green
			if x < w/2 && y < h/2 {
				c = red
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// noisy is w×h of random colours: the worst case for a JPEG's size.
func noisy(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.Uint32())
		if i%4 == 3 {
			m.Pix[i] = 255
		}
	}
	return m
}

func encodeJPEG(t testing.TB, m image.Image, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gpsLatitude is the GPSLatitude value the EXIF fixture carries
// (57°42'36"), as the rationals' bytes: found in no stripped file.
var gpsLatitude = []byte{57, 0, 0, 0, 1, 0, 0, 0, 42, 0, 0, 0, 1, 0, 0, 0, 0x10, 0x0e, 0, 0, 100, 0, 0, 0}

// exifTIFF is a little-endian TIFF structure as EXIF holds it: IFD0 with
// the orientation and a pointer to a GPS IFD with a latitude.
func exifTIFF(orientation int) []byte {
	le := binary.LittleEndian
	b := []byte("II*\x00")
	b = le.AppendUint32(b, 8)
	entry := func(b []byte, tag, typ uint16, count, value uint32) []byte {
		b = le.AppendUint16(b, tag)
		b = le.AppendUint16(b, typ)
		b = le.AppendUint32(b, count)
		return le.AppendUint32(b, value)
	}
	const ifd0 = 8
	gpsIFD := uint32(ifd0 + 2 + 2*12 + 4)
	b = le.AppendUint16(b, 2)
	b = entry(b, 0x0112, 3, 1, uint32(orientation)) // SHORT, in the low bytes
	b = entry(b, 0x8825, 4, 1, gpsIFD)
	b = le.AppendUint32(b, 0)
	data := gpsIFD + 2 + 2*12 + 4
	b = le.AppendUint16(b, 2)
	b = entry(b, 0x0001, 2, 2, uint32('N'))
	b = entry(b, 0x0002, 5, 3, data)
	b = le.AppendUint32(b, 0)
	return append(b, gpsLatitude...)
}

// segment is a JPEG marker segment.
func segment(marker byte, payload []byte) []byte {
	b := []byte{0xff, marker}
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)+2))
	return append(b, payload...)
}

// withSegments puts segments right after a JPEG's SOI marker.
func withSegments(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

// exifJPEG is a JPEG of m with EXIF (orientation, GPS), XMP, an ICC
// profile, a comment and data after its end.
func exifJPEG(t testing.TB, m image.Image, orientation int) []byte {
	t.Helper()
	return append(withSegments(encodeJPEG(t, m, 95),
		segment(0xe1, append([]byte("Exif\x00\x00"), exifTIFF(orientation)...)),
		segment(0xe1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>secret-xmp</x:xmpmeta>")),
		segment(0xe2, []byte("ICC_PROFILE\x00\x01\x01secret-icc")),
		segment(0xfe, []byte("secret-comment")),
	), []byte("secret-trailer")...)
}

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// withChunks puts chunks right after a PNG's IHDR.
func withChunks(p []byte, chunks ...[]byte) []byte {
	const afterIHDR = 8 + 25
	out := append([]byte(nil), p[:afterIHDR]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, p[afterIHDR:]...)
}

// animatedGIF has two frames w×h, red then green, looping, with a
// comment and an XMP application extension.
func animatedGIF(t testing.TB, w, h int) []byte {
	t.Helper()
	g := &gif.GIF{LoopCount: 0}
	for _, c := range []color.Color{red, green} {
		f := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		idx := uint8(f.Palette.Index(c))
		for i := range f.Pix {
			f.Pix[i] = idx
		}
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 50)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// After the header, screen descriptor and global table (Plan9: 256 colours).
	at := 13 + 3*256
	if b[10]&0x80 == 0 {
		at = 13
	}
	comment := append([]byte{0x21, 0xfe, 14}, "secret-comment"...)
	comment = append(comment, 0)
	xmp := append([]byte{0x21, 0xff, 11}, "XMP DataXMP"...)
	xmp = append(xmp, 10)
	xmp = append(xmp, "secret-xmp"...)
	xmp = append(xmp, 0)
	out := append([]byte(nil), b[:at]...)
	out = append(out, comment...)
	out = append(out, xmp...)
	return append(out, b[at:]...)
}

// riffChunk is one WebP chunk, padded to an even length.
func riffChunk(typ string, data []byte) []byte {
	b := append([]byte(typ), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// riff wraps chunks into a WebP file.
func riff(chunks ...[]byte) []byte {
	var body []byte
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	b = append(b, "WEBP"...)
	return append(b, body...)
}

// vp8x is the extended-format header chunk for a w×h canvas.
func vp8x(flags byte, w, h int) []byte {
	d := make([]byte, 10)
	d[0] = flags
	d[4], d[5], d[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	d[7], d[8], d[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	return riffChunk("VP8X", d)
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vp8Chunk is the "VP8 " chunk (header included) of a simple WebP.
func vp8Chunk(t testing.TB, webp []byte) []byte {
	t.Helper()
	if string(webp[12:16]) != "VP8 " {
		t.Fatalf("not a simple lossy WebP: %q", webp[12:16])
	}
	n := int(binary.LittleEndian.Uint32(webp[16:]))
	return webp[12 : 20+n+n%2]
}
