package article

import (
	"bytes"
	"errors"
	"golang.org/x/net/html"
	"image"
	"image/png"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestSlugify(t *testing.T) {
	tests := []struct{ in, want string }{
		{"cluster training", "cluster-training"},
		{"WP4", "wp4"},
		{"Göteborg", "goteborg"},
		{"Århus", "arhus"},
		{"Ærøskøbing", "aeroskobing"},
		{"Straße", "strasse"},
		{"  --Hello, World!--  ", "hello-world"},
		{"2026-10-14-training", "2026-10-14-training"},
		{"Łódź", "lodz"},
		{"日本", ""},
		{"a日本b", "a-b"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Slugify(tt.in); got != tt.want {
			t.Errorf("Slugify(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

const good = `---
title: "Cluster managers sharpen their skills in Göteborg"
date: 2026-09-24
author: Åsa Lindqvist
author_email: asa@example.org
tags: [training, Göteborg, goteborg, WP2]
image: images/pic.png
image_alt: A harbour
---
First paragraph with **bold** and a [link](https://example.org).

Second paragraph.

<script>alert(1)</script>
<p onclick="x()">Inline</p>

![inline](images/pic.png)
`

func pngOf(w, h int) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h)))
	return buf.Bytes()
}

func TestParseOK(t *testing.T) {
	stockholm, _ := time.LoadLocation("Europe/Stockholm")
	media := fstest.MapFS{"news/images/pic.png": {Data: pngOf(2, 3)}}
	p := NewParser(stockholm, media)
	a, err := p.Parse("news/2026-09-24-cluster-training.md", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if a.Slug != "cluster-training" {
		t.Errorf("slug = %q", a.Slug)
	}
	if want := time.Date(2026, 9, 23, 22, 0, 0, 0, time.UTC); !a.Published.Equal(want) {
		t.Errorf("published = %v, want %v (midnight in site zone)", a.Published, want)
	}
	if len(a.Tags) != 3 || a.Tags[1] != (Tag{"Göteborg", "goteborg"}) || a.Tags[2].Slug != "wp2" {
		t.Errorf("tags = %+v (two names, one slug: one tag)", a.Tags)
	}
	if a.Summary != "First paragraph with bold and a link." {
		t.Errorf("summary = %q", a.Summary)
	}
	if strings.Contains(a.BodyHTML, "<script") || strings.Contains(a.BodyHTML, "onclick") {
		t.Errorf("body not sanitised: %s", a.BodyHTML)
	}
	if !strings.Contains(a.BodyHTML, `<strong>bold</strong>`) || !strings.Contains(a.BodyHTML, `src="/media/news/images/pic.png"`) {
		t.Errorf("body = %s", a.BodyHTML)
	}
	if a.Image == nil || a.Image.MediaPath != "news/images/pic.png" || a.Image.Width != 2 || a.Image.Height != 3 || a.Image.Alt != "A harbour" {
		t.Errorf("image = %+v", a.Image)
	}
	if a.ContentHash == "" || a.Source != SourceFile || a.SourcePath != "news/2026-09-24-cluster-training.md" {
		t.Errorf("source = %q %q %q", a.Source, a.SourcePath, a.ContentHash)
	}
}

func TestParseTitleIsPlainText(t *testing.T) {
	a, err := NewParser(nil, nil).Parse("x.md", []byte("---\ntitle: Why <br> tags matter\ndate: 2026-01-02T10:00:00+01:00\nslug: Why BR\n---\nbody\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "Why <br> tags matter" || a.Slug != "why-br" {
		t.Errorf("title %q slug %q", a.Title, a.Slug)
	}
	if !a.Published.Equal(time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("published = %v", a.Published)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"ErrNoFrontMatter", "hello\n", 1, "missing front matter"},
		{"ErrUnclosed", "---\ntitle: x\n", 1, "not closed"},
		{"ErrTitleRequired", "---\ndate: 2026-01-01\n---\n", 2, "title is required"},
		{"ErrDateRequired", "---\ntitle: x\n---\n", 2, "date is required"},
		{"ErrBadDate", "---\ntitle: x\ndate: yesterday\n---\n", 3, "not a date"},
		{"ErrDateBeforeYear1", "---\ntitle: x\ndate: 0001-01-01T00:30:00+01:00\n---\n", 3, "out of range"},
		{"ErrUnknownKey", "---\ntitle: x\ndate: 2026-01-01\ncolour: red\n---\n", 4, `unknown front matter key "colour"`},
		{"ErrBrokenYAML", "---\ntitle: x\ndate: [2026\n---\n", 2, "front matter"},
		{"ErrInvalidUTF8", "---\ntitle: x\ndate: 2026-01-01\n---\nok\nbad \xff here\n", 6, "invalid UTF-8"},
		{"ErrBadLink", "---\ntitle: x\ndate: 2026-01-01\nlink: /relative\n---\n", 4, "link must be"},
		{"ErrImageOutside", "---\ntitle: x\ndate: 2026-01-01\nimage: ../../etc/passwd\n---\n", 4, "outside the content folder"},
		{"ErrDraft", "---\ntitle: x\ndate: 2026-01-01\ndraft: maybe\n---\n", 4, "draft must be"},
		{"ErrRepeatedKey", "---\ntitle: x\ntitle: y\ndate: 2026-01-01\n---\n", 3, "repeated"},
		{"ErrNotMapping", "---\n- a\n- b\n---\n", 2, "mapping"},
		{"ErrImageMissing", "---\ntitle: x\ndate: 2026-01-01\nimage: nope.png\n---\n", 4, "file not found"},
		{"ErrImageReserved", "---\ntitle: x\ndate: 2026-01-01\nimage: ../u/pic.png\n---\n", 4, "u/pic.png: the content folder's u/ is reserved for uploaded images"},
		{"ErrImageReservedRoot", "---\ntitle: x\ndate: 2026-01-01\nimage: /u/pic.png\n---\n", 4, "reserved"},
		{"ErrBodyImageReserved", "---\ntitle: x\ndate: 2026-01-01\n---\nSee ![pic](../u/pic.png)\n", 5, "image u/pic.png: the content folder's u/ is reserved"},
		{"ErrNotAnUpload", "---\ntitle: x\ndate: 2026-01-01\nimage: /media/u/pic.png\n---\n", 4, "not the address of an uploaded image"},
	}
	p := NewParser(time.UTC, fstest.MapFS{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Parse("dir/file.md", []byte(tt.src))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a ParseError", err)
			}
			if pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) || pe.File != "dir/file.md" {
				t.Errorf("got %q (line %d), want line %d containing %q", err, pe.Line, tt.line, tt.msg)
			}
		})
	}
}

// TestParseUpload: an image at /media/u/ is an upload kept in the store,
// so the content folder is not asked for it.
func TestParseUpload(t *testing.T) {
	const hash = "0123456789abcdef0123456789abcdef"
	p := NewParser(time.UTC, fstest.MapFS{})
	for _, ref := range []string{"/media/u/" + hash + ".jpg", "/media/u/" + hash + "-600.jpg"} {
		a, err := p.Parse("news/file.md", []byte("---\ntitle: x\ndate: 2026-01-01\nimage: "+ref+"\nimage_alt: Quay\n---\n![x]("+ref+")\n"))
		if err != nil {
			t.Fatal(err)
		}
		if !a.Image.Upload() || a.Image.MediaPath != strings.TrimPrefix(ref, "/media/") || a.Image.Ref() != ref {
			t.Errorf("image = %+v (ref %s), want the upload %s", a.Image, a.Image.Ref(), ref)
		}
		if !strings.Contains(a.BodyHTML, `src="`+ref+`"`) {
			t.Errorf("body %s", a.BodyHTML)
		}
	}
}

func TestExcerpt(t *testing.T) {
	if got := Excerpt("short text", 300); got != "short text" {
		t.Errorf("got %q", got)
	}
	long := strings.Repeat("word ", 100)
	got := Excerpt(long, 50)
	if len([]rune(got)) > 51 || !strings.HasSuffix(got, "…") {
		t.Errorf("got %q", got)
	}
}

// FuzzParse: whatever the file holds, Parse returns an article or a
// located error, never panics, and never lets markup that runs into the body.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("---\ntitle: x\ndate: 2026-01-01\n---\n<img src=x onerror=alert(1)>"))
	f.Add([]byte("---\ntitle: \"]]>\\u000b\"\ndate: 2026-01-01\ntags: [\"\", \"日本\"]\n---\n"))
	f.Add([]byte("---\n---\n"))
	p := NewParser(time.UTC, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := p.Parse("f.md", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "f.md" {
				t.Fatalf("error without location: %v", err)
			}
			return
		}
		if bad := unsafeMarkup(a.BodyHTML); bad != "" {
			t.Fatalf("unsanitised %s in %q", bad, a.BodyHTML)
		}
		if a.Slug == "" || a.Title == "" || a.Published.IsZero() {
			t.Fatalf("incomplete article: %+v", a)
		}
	})
}

// unsafeMarkup parses h as a browser would and names the first element or
// attribute that could run script, or returns "".
func unsafeMarkup(h string) string {
	z := html.NewTokenizer(strings.NewReader(h))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "style", "iframe", "object", "embed", "svg", "math", "form":
				return "<" + tok.Data + ">"
			}
			for _, at := range tok.Attr {
				k := strings.ToLower(at.Key)
				v := strings.ToLower(strings.TrimSpace(at.Val))
				if strings.HasPrefix(k, "on") || k == "style" || strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:text") {
					return k + "=" + at.Val
				}
			}
		}
	}
}
