// Package media turns uploaded image bytes, from any source (the admin
// upload form, the API, a fetched remote image), into what Herald stores
// and serves: the original with its orientation applied and every piece
// of metadata removed, its size, a content hash, and resized derivatives
// for pages and mail (docs/ARCHITECTURE.md, "Media").
package media

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The content types Herald accepts.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	GIF  = "image/gif"
	WebP = "image/webp"
)

// derivativeWidths are the widths of the derivatives made at upload, for
// pages and mail (a 600 px column and twice that for dense screens).
var derivativeWidths = [...]int{600, 1200}

// Prefix is the URL path under which uploads are served; the content
// folder's u/ is reserved for it.
const Prefix = "/media/u/"

var (
	// ErrUnsupported: the bytes are none of the accepted image types.
	ErrUnsupported = errors.New("not an image Herald accepts: upload a JPEG, PNG, WebP or GIF")
	// ErrInvalid: an accepted type, but damaged or too large to decode.
	ErrInvalid = errors.New("the image cannot be used")
	// ErrTooLarge: the file is over the upload limit.
	ErrTooLarge = errors.New("the file is larger than the upload limit")
	// ErrInUse: an article uses the upload, so it cannot be deleted.
	ErrInUse = errors.New("the image is in use")
)

// File is one stored image: an upload's original or one of its
// derivatives. Data is nil where only the description is read.
type File struct {
	Width, Height int
	ContentType   string
	Size          int64
	Data          []byte
}

// Ext is the file name extension of f's type, without the dot.
func (f File) Ext() string { return ExtOf(f.ContentType) }

// ExtOf is the extension Herald serves content type ct under.
func ExtOf(ct string) string {
	switch ct {
	case JPEG:
		return "jpg"
	case PNG:
		return "png"
	case GIF:
		return "gif"
	case WebP:
		return "webp"
	}
	return ""
}

// Item is one upload: its original, its derivatives (narrowest first;
// one for each derivative width below the original's) and who added it.
type Item struct {
	Hash        string // hex, 32 characters: the first half of the SHA-256 of Original.Data
	Name        string // the file name it was uploaded under, for people
	Original    File
	Derivatives []File
	CreatedAt   time.Time
	CreatedBy   string
}

// URL is the path the original is served at.
func (it Item) URL() string { return URL(it.Hash, it.Original.Ext()) }

// DerivativeURL is the path of the derivative width px wide, or of the
// original when it has none that wide (the original is then narrower:
// images are never scaled up).
func (it Item) DerivativeURL(width int) string {
	for _, d := range it.Derivatives {
		if d.Width == width {
			return DerivativeURL(it.Hash, width, d.Ext())
		}
	}
	return it.URL()
}

// URL is the path of the original of upload hash, whose extension is ext.
func URL(hash, ext string) string { return Prefix + hash + "." + ext }

// DerivativeURL is the path of upload hash's derivative width px wide.
func DerivativeURL(hash string, width int, ext string) string {
	return Prefix + hash + "-" + strconv.Itoa(width) + "." + ext
}

// ParseName reads a file name under Prefix: "{hash}.{ext}" (the original,
// width 0) or "{hash}-{width}.{ext}" (a derivative).
func ParseName(name string) (hash string, width int, ext string, ok bool) {
	base, ext, found := strings.Cut(name, ".")
	if !found || ext == "" || strings.Contains(ext, ".") {
		return "", 0, "", false
	}
	hash, w, derived := strings.Cut(base, "-")
	if !validHash(hash) {
		return "", 0, "", false
	}
	if derived {
		n, err := strconv.Atoi(w)
		if err != nil || n <= 0 || strconv.Itoa(n) != w {
			return "", 0, "", false
		}
		width = n
	}
	return hash, width, ext, true
}

// hashLen is the length of a content hash in hex.
const hashLen = 32

func validHash(h string) bool {
	if len(h) != hashLen {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Ref is the text whose presence in an article's image or body means the
// article uses upload hash: every URL of it, relative or absolute, and
// the image path an article stores ("u/{hash}.{ext}"), contain it.
func Ref(hash string) string { return "u/" + hash }

// Use is an article that uses an upload.
type Use struct {
	Slug, Title string
}

// Actor is who makes a change, for the audit log: a signed-in user, an
// API token ("token NAME") or a command. admin.Actor converts to it.
type Actor struct {
	UserID int64
	Email  string
	IP     string
}

// FormatSize writes n bytes in the largest of B, KiB, MiB and GiB that
// keeps it short ("10 MiB", "1.5 KiB").
func FormatSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d B", n)
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + " " + units[u]
}
