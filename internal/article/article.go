// Package article defines Herald's articles: the Markdown-with-front-matter
// format they are written in, how they are parsed and sanitised, and slugs.
package article

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Tag is a topic an article carries: its display name and its URL slug.
type Tag struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// TagCount is a tag with the number of articles listed under it.
type TagCount struct {
	Tag
	Count int
}

// FileRecord is what a content-folder sync needs to know of a stored
// file article.
type FileRecord struct {
	Slug, SourcePath, ContentHash string
	Removed                       bool
}

// Image is an article's lead image. URL is absolute, or a path below the
// content folder served under /media/ (MediaPath set, URL empty).
type Image struct {
	URL       string `json:"url,omitempty"`
	MediaPath string `json:"media_path,omitempty"`
	Alt       string `json:"alt,omitempty"`
	Width     int    `json:"width,omitempty"`
	Height    int    `json:"height,omitempty"`
	// Kept is Herald's own copy of the image (remote, content-folder or
	// upload), with its crops; nil until it has been kept. Outputs show
	// the copy, never the source.
	Kept *Kept `json:"kept,omitempty"`
}

// Kept is an article image kept in the media store, with the versions
// Herald shows (docs/ARCHITECTURE.md, "Remote images"). Paths are
// site-absolute, under /media/u/.
type Kept struct {
	Original Rendition   `json:"original"`        // metadata stripped, full size
	Sizes    []Rendition `json:"sizes,omitempty"` // narrower copies, narrowest first (srcset)
	Lead     Rendition   `json:"lead"`            // cropped to between 1:1 and 16:9: the lead story
	Thumb    Rendition   `json:"thumb"`           // square: compact lists
	// Stamp is a content-folder file's size and modification time when
	// it was cut: a file replaced under the same name is cut again.
	Stamp string `json:"stamp,omitempty"`
}

// EncodeKept is k as the store keeps it: JSON, "" for nil.
func EncodeKept(k *Kept) string {
	if k == nil {
		return ""
	}
	b, _ := json.Marshal(k) // plain strings and ints: cannot fail
	return string(b)
}

// DecodeKept reads what EncodeKept wrote; "" is nil.
func DecodeKept(s string) (*Kept, error) {
	if s == "" {
		return nil, nil
	}
	var k Kept
	if err := json.Unmarshal([]byte(s), &k); err != nil {
		return nil, fmt.Errorf("kept image: %w", err)
	}
	return &k, nil
}

// Displayed is the widest version of k at most width px wide, the one
// to show in a column that wide (there is one: derivatives are made at
// every width narrower than the original).
func Displayed(k *Kept, width int) Rendition {
	best := k.Original
	for _, r := range k.Sizes {
		if r.Width <= width && (best.Width > width || r.Width > best.Width) {
			best = r
		}
	}
	return best
}

// Srcset lists k's versions for an img srcset: "PATH 600w, …".
func Srcset(k *Kept) string {
	var b strings.Builder
	for _, r := range append(append([]Rendition{}, k.Sizes...), k.Original) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %dw", r.Path, r.Width)
	}
	return b.String()
}

// Rendition is one stored version of an image.
type Rendition struct {
	Path   string `json:"path"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// RemoteImage is what the store knows of one article image, by its
// reference (Image.Ref: a URL, "/media/u/…" or a content-folder path):
// its kept copy, or the failures so far and when to try again.
type RemoteImage struct {
	Ref         string
	Kept        *Kept // nil: not fetched yet
	Attempts    int   // failed fetches since the last success
	LastError   string
	NextAttempt time.Time // zero: at once
}

// PendingImage is a stored article whose image (Ref, as Image.Ref) is
// not kept yet, with the failed attempts so far (none: Attempts 0).
type PendingImage struct {
	Ref, Slug, Source, SourcePath string
	Attempts                      int
	LastError                     string
	NextAttempt                   time.Time // zero: at the next try
}

// ImageFailure is an article whose image could not be kept.
type ImageFailure struct {
	PendingImage
	Err error
}

// Upload reports whether the image is an uploaded one (MediaPath under
// u/, served from the store at UploadPrefix).
func (img *Image) Upload() bool { return strings.HasPrefix(img.MediaPath, "u/") }

// Ref is the image as front matter writes it: its URL, an upload's
// address, or its path from the content folder's root.
func (img *Image) Ref() string {
	switch {
	case img.URL != "":
		return img.URL
	case img.Upload():
		return "/media/" + img.MediaPath
	}
	return "/" + img.MediaPath
}

// Source kinds say where an article came from, so a sync of the content
// folder only touches what it created.
const (
	SourceFile   = "file"   // from the content folder, kept in step by sync
	SourceImport = "import" // from `herald import` of a path outside the content folder
	SourceAPI    = "api"
)

// Article is one news article as the store keeps it.
type Article struct {
	ID          int64     // store row id; 0 before it is stored
	Slug        string    // unique, stable: never derived from the title
	Title       string    // plain text
	Summary     string    // plain text: front matter, else the first paragraph
	Body        string    // Markdown source
	BodyHTML    string    // sanitised HTML rendered from Body
	AuthorName  string    // plain text
	AuthorEmail string    //
	Tags        []Tag     //
	Image       *Image    // nil: none
	Link        string    // canonical URL elsewhere; empty: the article's own page
	Published   time.Time // UTC
	Updated     time.Time // UTC; equals Published until the article changes
	Draft       bool      //
	Removed     bool      // its source file is gone: unpublished, kept in the store
	Source      string    // SourceFile or SourceAPI
	SourcePath  string    // for SourceFile: path relative to the content folder
	ContentHash string    // hash of the source bytes: re-import of an unchanged file changes nothing
	FirstSeen   time.Time // when the store first held it published (zero until then)
	FeedID      string    // the id feeds give it, fixed at first publication (see FeedID); "" until then
}

// Visible reports whether the article is public at time now.
func (a *Article) Visible(now time.Time) bool {
	return !a.Draft && !a.Removed && !a.Published.After(now)
}

// HasTag reports whether the article carries the tag with the given slug.
func (a *Article) HasTag(slug string) bool {
	for _, t := range a.Tags {
		if t.Slug == slug {
			return true
		}
	}
	return false
}

// Query selects published articles, newest first.
type Query struct {
	Tags   []string  // tag slugs, any of; empty: all
	Now    time.Time // only articles published at or before Now (zero: no bound)
	Limit  int       // 0: no limit
	Offset int
}

// foldings are the Latin letters that do not decompose into a base letter
// plus combining marks, so NFD alone would drop them.
var foldings = map[rune]string{
	'ø': "o", 'Ø': "o", 'æ': "ae", 'Æ': "ae", 'ß': "ss", 'ẞ': "ss",
	'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'þ': "th", 'Þ': "th",
	'ł': "l", 'Ł': "l", 'œ': "oe", 'Œ': "oe", 'ı': "i", 'ħ': "h", 'Ħ': "h",
}

// Slugify turns a tag name or file name into a URL slug
// (docs/ARCHITECTURE.md, "Articles and slugs"):
// lowercase, Latin letters lose diacritics, any run of other characters
// becomes "-", trimmed of "-".
func Slugify(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	emit := func(r rune) {
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteRune(r)
	}
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue // combining mark left by NFD: å → a + ring
		}
		if f, ok := foldings[r]; ok {
			for _, fr := range f {
				emit(fr)
			}
			continue
		}
		r = unicode.ToLower(r)
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			emit(r)
			continue
		}
		dash = true
	}
	return b.String()
}
