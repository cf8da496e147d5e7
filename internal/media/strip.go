package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Stripping works on the file's structure, never on its pixels: the
// segments, chunks and blocks that carry metadata (EXIF with GPS
// positions, XMP, ICC profiles, comments, text chunks, thumbnails) are
// dropped and everything a decoder needs is copied byte for byte, so the
// image itself is exactly what was uploaded (docs/ARCHITECTURE.md,
// "Media"). Each stripper also reports the EXIF orientation it found
// (1 when none), which Process applies.

// sniff names the type of data by its signature; "" for anything else.
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		return JPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return GIF
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return WebP
	}
	return ""
}

// errTruncated: the structure ends before it should.
var errTruncated = errors.New("the file ends too early")

// strip removes the metadata of data, whose type is ct.
func strip(ct string, data []byte) (out []byte, orientation int, err error) {
	switch ct {
	case JPEG:
		return stripJPEG(data)
	case PNG:
		return stripPNG(data)
	case GIF:
		out, err := stripGIF(data)
		return out, 1, err
	case WebP:
		return stripWebP(data)
	}
	return nil, 0, ErrUnsupported
}

// stripJPEG keeps the markers a decoder needs and the JFIF and Adobe
// segments (the Adobe one says how to read CMYK and YCCK colours); it
// drops every other APPn (EXIF, XMP, ICC, IPTC, MPF and their
// thumbnails), comments, and anything after the end of the image.
func stripJPEG(data []byte) ([]byte, int, error) {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return nil, 0, errors.New("not a JPEG")
	}
	out := make([]byte, 0, len(data))
	out = append(out, 0xff, 0xd8)
	orientation := 1
	for i := 2; ; {
		if i >= len(data) {
			return nil, 0, errTruncated
		}
		if data[i] != 0xff {
			return nil, 0, fmt.Errorf("JPEG: no marker at byte %d", i)
		}
		for i < len(data) && data[i] == 0xff { // fill bytes
			i++
		}
		if i >= len(data) {
			return nil, 0, errTruncated
		}
		m := data[i]
		i++
		switch {
		case m == 0xd9: // end of image: what follows is not the image
			return append(out, 0xff, 0xd9), orientation, nil
		case m == 0x01 || (m >= 0xd0 && m <= 0xd7): // no length
			out = append(out, 0xff, m)
			continue
		}
		if i+2 > len(data) {
			return nil, 0, errTruncated
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || i+n > len(data) {
			return nil, 0, errTruncated
		}
		seg := data[i : i+n]
		payload := seg[2:]
		keep := true
		switch {
		case m == 0xe0:
			keep = bytes.HasPrefix(payload, []byte("JFIF\x00"))
		case m == 0xe1:
			keep = false
			if orientation == 1 && bytes.HasPrefix(payload, []byte("Exif\x00\x00")) {
				orientation = exifOrientation(payload[6:])
			}
		case m == 0xee:
			keep = bytes.HasPrefix(payload, []byte("Adobe"))
		case m > 0xe0 && m <= 0xef, m == 0xfe:
			keep = false
		}
		if keep {
			out = append(out, 0xff, m)
			out = append(out, seg...)
		}
		i += n
		if m == 0xda { // start of scan: entropy-coded data up to the next marker
			j := i
			for j+1 < len(data) {
				if data[j] == 0xff {
					if next := data[j+1]; next != 0x00 && (next < 0xd0 || next > 0xd7) {
						break
					}
				}
				j++
			}
			if j+1 >= len(data) {
				return nil, 0, errTruncated
			}
			out = append(out, data[i:j]...)
			i = j
		}
	}
}

// pngKeep are the chunks a PNG keeps: the critical ones, transparency,
// the colour-space ones a viewer renders with, and APNG's animation
// chunks. Text, time, EXIF, ICC profiles and every other chunk go.
var pngKeep = map[string]bool{
	"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true,
	"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "sBIT": true, "cICP": true,
	"acTL": true, "fcTL": true, "fdAT": true,
}

func stripPNG(data []byte) ([]byte, int, error) {
	const sig = 8
	out := make([]byte, 0, len(data))
	out = append(out, data[:sig]...)
	orientation := 1
	for i := sig; ; {
		if i+8 > len(data) {
			return nil, 0, errTruncated
		}
		n := int(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		end := i + 12 + n
		if n < 0 || n > len(data) || end > len(data) {
			return nil, 0, errTruncated
		}
		if typ == "eXIf" && orientation == 1 {
			orientation = exifOrientation(data[i+8 : i+8+n])
		}
		if pngKeep[typ] {
			out = append(out, data[i:end]...)
		}
		if typ == "IEND" {
			return out, orientation, nil
		}
		i = end
	}
}

// stripGIF keeps the image blocks, graphic control (frame timing and
// transparency), plain text, and the looping extensions of animations;
// comments and every other application extension (XMP, ICC) go.
func stripGIF(data []byte) ([]byte, error) {
	if len(data) < 13 {
		return nil, errTruncated
	}
	i := 13
	if flags := data[10]; flags&0x80 != 0 {
		i += 3 << ((flags & 7) + 1)
	}
	if i > len(data) {
		return nil, errTruncated
	}
	out := make([]byte, 0, len(data))
	out = append(out, data[:i]...)
	// subBlocks returns the end of the sub-blocks starting at j.
	subBlocks := func(j int) (int, error) {
		for {
			if j >= len(data) {
				return 0, errTruncated
			}
			n := int(data[j])
			j += 1 + n
			if n == 0 {
				return j, nil
			}
		}
	}
	for {
		if i >= len(data) {
			// Some writers leave the trailer out; decoders accept that.
			return append(out, 0x3b), nil
		}
		switch data[i] {
		case 0x3b: // trailer
			return append(out, 0x3b), nil
		case 0x2c: // image descriptor, local colour table, LZW data
			j := i + 10
			if j > len(data) {
				return nil, errTruncated
			}
			if flags := data[i+9]; flags&0x80 != 0 {
				j += 3 << ((flags & 7) + 1)
			}
			j++ // LZW minimum code size
			end, err := subBlocks(j)
			if err != nil {
				return nil, err
			}
			out = append(out, data[i:end]...)
			i = end
		case 0x21: // extension
			if i+2 > len(data) {
				return nil, errTruncated
			}
			label := data[i+1]
			end, err := subBlocks(i + 2)
			if err != nil {
				return nil, err
			}
			keep := label == 0xf9 || label == 0x01
			if label == 0xff && i+3+11 <= len(data) && data[i+2] == 11 {
				app := string(data[i+3 : i+3+11])
				keep = app == "NETSCAPE2.0" || app == "ANIMEXTS1.0"
			}
			if keep {
				out = append(out, data[i:end]...)
			}
			i = end
		default:
			return nil, fmt.Errorf("GIF: unknown block 0x%02x at byte %d", data[i], i)
		}
	}
}

// webpKeep are the chunks a WebP keeps; ICCP, EXIF, XMP and unknown
// chunks go.
var webpKeep = map[string]bool{"VP8 ": true, "VP8L": true, "VP8X": true, "ALPH": true, "ANIM": true, "ANMF": true}

// VP8X flags.
const (
	webpAnimation = 1 << 1
	webpXMP       = 1 << 2
	webpEXIF      = 1 << 3
	webpICC       = 1 << 5
)

// errAnimatedWebP: x/image decodes no animated WebP.
var errAnimatedWebP = errors.New("animated WebP images are not supported: upload an animated GIF or a still image")

func stripWebP(data []byte) ([]byte, int, error) {
	if len(data) < 12 {
		return nil, 0, errTruncated
	}
	size := int(binary.LittleEndian.Uint32(data[4:]))
	end := 8 + size
	if size < 4 || end > len(data) {
		return nil, 0, errTruncated
	}
	out := make([]byte, 12, len(data))
	copy(out, data[:12])
	orientation := 1
	for i := 12; i < end; {
		if i+8 > end {
			return nil, 0, errTruncated
		}
		typ := string(data[i : i+4])
		n := int(binary.LittleEndian.Uint32(data[i+4:]))
		next := i + 8 + n + n&1 // chunks are padded to an even length
		if n < 0 || n > end || i+8+n > end {
			return nil, 0, errTruncated
		}
		if next > end {
			next = end // a writer that left the last pad byte out
		}
		body := data[i+8 : i+8+n]
		switch {
		case typ == "EXIF" && orientation == 1:
			// The TIFF header, though some writers put JPEG's prefix first.
			orientation = exifOrientation(bytes.TrimPrefix(body, []byte("Exif\x00\x00")))
		case typ == "VP8X" && n >= 1:
			if body[0]&webpAnimation != 0 {
				return nil, 0, errAnimatedWebP
			}
			chunk := append([]byte(nil), data[i:next]...)
			chunk[8] &^= webpXMP | webpEXIF | webpICC
			out = append(out, chunk...)
			i = next
			continue
		}
		if webpKeep[typ] {
			out = append(out, data[i:next]...)
		}
		i = next
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, orientation, nil
}

// exifOrientation reads the Orientation tag (0x0112) of IFD0 from a TIFF
// structure; anything unreadable or out of range is 1 (as stored).
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(tiff[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int(bo.Uint32(tiff[4:]))
	if ifd < 8 || ifd+2 > len(tiff) {
		return 1
	}
	count := int(bo.Uint16(tiff[ifd:]))
	for k := 0; k < count; k++ {
		e := ifd + 2 + 12*k
		if e+12 > len(tiff) {
			return 1
		}
		if bo.Uint16(tiff[e:]) != 0x0112 {
			continue
		}
		if typ := bo.Uint16(tiff[e+2:]); typ != 3 { // SHORT
			return 1
		}
		if v := int(bo.Uint16(tiff[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}
