package feed

import "unicode/utf8"

// cleanText drops what XML 1.0 cannot carry (C0 controls other than tab,
// newline and carriage return, surrogates, U+FFFE, U+FFFF) and invalid
// UTF-8 bytes, plus C1 controls, which XML allows but no reader shows
// usefully. gorilla/feeds and encoding/xml let some of these through (a
// vertical tab inside CDATA makes the whole feed unparsable), so every
// string goes through here before it reaches an encoder. Clean input, the
// common case, is returned without allocating.
func cleanText(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
				return cleanSlow(s, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !xmlChar(r) {
			return cleanSlow(s, i)
		}
		i += size
	}
	return s
}

func cleanSlow(s string, from int) string {
	b := make([]byte, 0, len(s))
	b = append(b, s[:from]...)
	for i := from; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !(r == utf8.RuneError && size == 1) && xmlChar(r) {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// xmlChar reports whether r is in XML 1.0's Char production and is not a
// control character readers would choke on.
func xmlChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20 || r >= 0x7f && r <= 0x9f:
		return false
	case r <= 0xd7ff:
		return true
	case r >= 0xe000 && r <= 0xfffd:
		return true
	case r >= 0x10000 && r <= utf8.MaxRune:
		return true
	}
	return false
}
