package article

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // image sizes for /media
	_ "image/jpeg"
	_ "image/png"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"go.yaml.in/yaml/v3"
)

// ParseError locates a problem in an article file.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Parser turns article files into Articles. It is safe for concurrent use.
type Parser struct {
	loc    *time.Location
	media  fs.FS // the content folder, for image sizes; nil: sizes unknown
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// NewParser returns a parser that reads zone-less dates in loc and image
// files from media (the content folder; may be nil).
func NewParser(loc *time.Location, media fs.FS) *Parser {
	if loc == nil {
		loc = time.UTC
	}
	return &Parser{
		loc:   loc,
		media: media,
		md: goldmark.New(
			goldmark.WithExtensions(extension.GFM, extension.Footnote, extension.Typographer),
			goldmark.WithParserOptions(parser.WithAutoHeadingID()),
			// Raw HTML is rendered, then sanitised: authors may use safe inline HTML.
			goldmark.WithRendererOptions(html.WithUnsafe()),
		),
		policy: Policy(),
	}
}

// Policy is the sanitising policy for article bodies: user-generated
// content minus anything that runs or restyles the page.
func Policy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w+-]+$`)).OnElements("code")
	p.AllowAttrs("id").Matching(regexp.MustCompile(`^[\w-]+$`)).OnElements("h1", "h2", "h3", "h4", "h5", "h6", "li", "sup")
	p.RequireNoReferrerOnLinks(false)
	p.AddTargetBlankToFullyQualifiedLinks(false)
	p.AllowURLSchemes("http", "https", "mailto")
	return p
}

var frontMatterKeys = map[string]bool{
	"title": true, "date": true, "updated": true, "author": true, "author_email": true,
	"tags": true, "summary": true, "image": true, "image_alt": true, "link": true,
	"slug": true, "draft": true,
}

var datePrefix = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}-`)

// UploadPrefix is where uploaded images are served (internal/media): an
// image there is an upload, and the content folder's u/ is reserved.
const UploadPrefix = "/media/u/"

// errReserved: a content-folder path in u/.
var errReserved = errors.New("the content folder's u/ is reserved for uploaded images (" + UploadPrefix + "…): move the file to another folder")

// uploadURL is the path of an upload or of one of its derivatives.
var uploadURL = regexp.MustCompile(`^/media/u/[0-9a-f]{32}(-[1-9][0-9]*)?\.(jpg|png|gif|webp)$`)

// Parse reads one article. rel is the file's path relative to the content
// folder (slash-separated): it names the file in errors and gives the slug.
func (p *Parser) Parse(rel string, data []byte) (*Article, error) {
	errAt := func(line int, format string, args ...any) error {
		return &ParseError{File: rel, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n"))
		return nil, errAt(line, "invalid UTF-8")
	}
	sum := sha256.Sum256(data)
	src := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(src, []byte("---\n")) {
		return nil, errAt(1, "missing front matter: the file must start with a line \"---\"")
	}
	rest := src[4:]
	end := -1
	var fm []byte
	if bytes.HasPrefix(rest, []byte("---\n")) || bytes.Equal(rest, []byte("---")) {
		end = 0
	} else if i := bytes.Index(rest, []byte("\n---\n")); i >= 0 {
		end = i + 1
	} else if bytes.HasSuffix(rest, []byte("\n---")) {
		end = len(rest) - 3
	}
	if end < 0 {
		return nil, errAt(1, "front matter is not closed by a line \"---\"")
	}
	fm = rest[:end]
	body := rest[end:]
	body = body[min(len(body), 4):]
	bodyLine := 2 + bytes.Count(fm, []byte("\n")) + 1

	var root yaml.Node
	if err := yaml.Unmarshal(fm, &root); err != nil {
		line, msg := 0, strings.TrimPrefix(err.Error(), "yaml: ")
		if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
			_, msg, _ = strings.Cut(msg, ":")
			msg = strings.TrimSpace(msg)
		}
		return nil, errAt(line+1, "front matter: %s", msg)
	}
	a := &Article{Source: SourceFile, SourcePath: rel, ContentHash: hex.EncodeToString(sum[:])}
	var doc *yaml.Node
	if len(root.Content) > 0 {
		doc = root.Content[0]
	}
	if doc == nil || doc.Kind != yaml.MappingNode {
		return nil, errAt(2, "front matter must be a mapping of keys (title: …, date: …)")
	}
	seen := map[string]int{}
	var slugLine, imageLine int
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		line := k.Line + 1 // +1: the opening "---"
		key := k.Value
		if !frontMatterKeys[key] {
			return nil, errAt(line, "unknown front matter key %q", key)
		}
		if prev, dup := seen[key]; dup {
			return nil, errAt(line, "key %q repeated (first on line %d)", key, prev)
		}
		seen[key] = line
		scalar := func() (string, error) {
			if v.Kind != yaml.ScalarNode {
				return "", errAt(line, "%s must be a single value", key)
			}
			return v.Value, nil
		}
		var err error
		var sv string
		switch key {
		case "tags":
			var names []string
			switch v.Kind {
			case yaml.SequenceNode:
				for _, t := range v.Content {
					if t.Kind != yaml.ScalarNode {
						return nil, errAt(t.Line+1, "tags must be a list of names")
					}
					names = append(names, t.Value)
				}
			case yaml.ScalarNode:
				names = append(names, strings.Split(v.Value, ",")...)
			default:
				return nil, errAt(line, "tags must be a list of names")
			}
			seenTag := map[string]bool{}
			for _, n := range names {
				n = strings.TrimSpace(n)
				s := Slugify(n)
				if s == "" {
					if n != "" {
						return nil, errAt(line, "tag %q has no letters or digits to make a slug from", n)
					}
					continue
				}
				if !seenTag[s] {
					seenTag[s] = true
					a.Tags = append(a.Tags, Tag{Name: n, Slug: s})
				}
			}
			continue
		case "draft":
			if sv, err = scalar(); err != nil {
				return nil, err
			}
			switch strings.ToLower(sv) {
			case "true", "yes":
				a.Draft = true
			case "false", "no", "":
			default:
				return nil, errAt(line, "draft must be true or false, got %q", sv)
			}
			continue
		}
		if sv, err = scalar(); err != nil {
			return nil, err
		}
		sv = strings.TrimSpace(sv)
		switch key {
		case "title":
			a.Title = sv
		case "summary":
			a.Summary = sv
		case "author":
			a.AuthorName = sv
		case "author_email":
			if sv != "" && (!strings.Contains(sv, "@") || strings.ContainsAny(sv, " <>\r\n")) {
				return nil, errAt(line, "author_email is not an address: %q", sv)
			}
			a.AuthorEmail = sv
		case "date":
			if a.Published, err = p.parseTime(sv); err != nil {
				return nil, errAt(line, "date: %v", err)
			}
		case "updated":
			if a.Updated, err = p.parseTime(sv); err != nil {
				return nil, errAt(line, "updated: %v", err)
			}
		case "link":
			if !absoluteHTTP(sv) {
				return nil, errAt(line, "link must be an absolute http(s) URL, got %q", sv)
			}
			a.Link = sv
		case "slug":
			a.Slug = Slugify(sv)
			slugLine = line
			if a.Slug == "" {
				return nil, errAt(line, "slug %q has no letters or digits", sv)
			}
		case "image":
			imageLine = line
			if sv == "" {
				continue
			}
			a.Image = &Image{}
			if absoluteHTTP(sv) {
				a.Image.URL = sv
			} else if strings.HasPrefix(sv, UploadPrefix) {
				if !uploadURL.MatchString(sv) {
					return nil, errAt(line, "image: %q is not the address of an uploaded image (%s{hash}.{ext})", sv, UploadPrefix)
				}
				a.Image.MediaPath = strings.TrimPrefix(sv, "/media/")
			} else {
				mp, err := mediaPath(rel, sv)
				if err != nil {
					return nil, errAt(line, "image: %v", err)
				}
				a.Image.MediaPath = mp
			}
		case "image_alt":
			if a.Image == nil {
				a.Image = &Image{}
			}
			a.Image.Alt = sv
		}
	}
	if a.Title == "" {
		return nil, errAt(2, "title is required")
	}
	if a.Published.IsZero() {
		return nil, errAt(2, "date is required (2018-11-13 or RFC 3339)")
	}
	if a.Image != nil && a.Image.URL == "" && a.Image.MediaPath == "" {
		return nil, errAt(seen["image_alt"], "image_alt without image")
	}
	if a.Image != nil && a.Image.MediaPath != "" && p.media != nil && !a.Image.Upload() {
		f, err := p.media.Open(a.Image.MediaPath)
		if err != nil {
			return nil, errAt(imageLine, "image %s: file not found in the content folder", a.Image.MediaPath)
		}
		cfg, _, err := image.DecodeConfig(f)
		f.Close()
		if err == nil {
			a.Image.Width, a.Image.Height = cfg.Width, cfg.Height
		}
	}
	if a.Slug == "" {
		base := path.Base(rel)
		base = strings.TrimSuffix(base, path.Ext(base))
		base = datePrefix.ReplaceAllString(base, "")
		a.Slug = Slugify(base)
		if a.Slug == "" {
			return nil, errAt(0, "cannot make a slug from the file name: set slug in the front matter")
		}
	}
	_ = slugLine
	a.Body = string(body)
	html, firstPara, err := p.render(rel, body)
	if err != nil {
		return nil, errAt(bodyLine, "%v", err)
	}
	a.BodyHTML = html
	if a.Summary == "" {
		a.Summary = Excerpt(firstPara, 300)
	}
	return a, nil
}

// RenderBody renders Markdown to sanitised HTML, for articles that do not
// come from a file (the admin API).
func (p *Parser) RenderBody(body string) (string, string, error) {
	return p.render("", []byte(body))
}

func (p *Parser) render(rel string, body []byte) (htmlOut, firstPara string, err error) {
	doc := p.md.Parser().Parse(text.NewReader(body))
	var refErr error
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Image:
			dest := string(n.Destination)
			if !absoluteHTTP(dest) && !strings.HasPrefix(dest, "/") && !strings.HasPrefix(dest, "data:") {
				mp, err := mediaPath(rel, dest)
				switch {
				case err == nil:
					n.Destination = []byte("/media/" + mp)
				case refErr == nil && errors.Is(err, errReserved):
					refErr = fmt.Errorf("image %w", err)
				}
			}
		case *ast.Paragraph:
			if firstPara == "" {
				firstPara = plainText(n, body)
			}
		}
		return ast.WalkContinue, nil
	})
	if refErr != nil {
		return "", "", refErr
	}
	var buf bytes.Buffer
	if err := p.md.Renderer().Render(&buf, body, doc); err != nil {
		return "", "", fmt.Errorf("markdown: %w", err)
	}
	return p.policy.Sanitize(buf.String()), firstPara, nil
}

// plainText collects the text of a node, markup dropped.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := c.(type) {
		case *ast.Text:
			b.Write(t.Segment.Value(src))
			if t.SoftLineBreak() || t.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(t.Value)
		case *ast.RawHTML:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

// Excerpt shortens plain text to at most max runes at a word boundary.
func Excerpt(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)[:max]
	cut := len(r)
	for i := len(r) - 1; i > max/2; i-- {
		if unicode.IsSpace(r[i]) {
			cut = i
			break
		}
	}
	return strings.TrimRightFunc(string(r[:cut]), func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) + "…"
}

func (p *Parser) parseTime(s string) (time.Time, error) {
	inRange := func(t time.Time) (time.Time, error) {
		// Years 1 to 9999 in UTC: what RFC 3339 (and so every feed) can write.
		if t = t.UTC(); t.Year() < 1 || t.Year() > 9999 {
			return time.Time{}, fmt.Errorf("%q is out of range (years 1 to 9999 in UTC)", s)
		}
		return t, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return inRange(t)
		}
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, p.loc); err == nil {
			return inRange(t)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (use 2018-11-13 or RFC 3339 such as 2018-11-13T09:30:00+01:00)", s)
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// mediaPath resolves ref, relative to the article file rel, to a clean
// path inside the content folder.
func mediaPath(rel, ref string) (string, error) {
	if u, err := url.Parse(ref); err != nil || u.Scheme != "" || u.Host != "" {
		return "", fmt.Errorf("%q is neither an http(s) URL nor a path in the content folder", ref)
	}
	var p string
	if strings.HasPrefix(ref, "/") {
		p = path.Clean(strings.TrimPrefix(ref, "/"))
	} else {
		p = path.Clean(path.Join(path.Dir(rel), ref))
	}
	if p == "." || strings.HasPrefix(p, "../") || p == ".." {
		return "", fmt.Errorf("%q points outside the content folder", ref)
	}
	if p == "u" || strings.HasPrefix(p, "u/") {
		return "", fmt.Errorf("%s: %w", p, errReserved)
	}
	return p, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// Location is the zone for dates written without one.
func (p *Parser) Location() *time.Location { return p.loc }
