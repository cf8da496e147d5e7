// Package newsroom is the one service that creates and changes articles
// made in Herald (not in the content folder): the JSON API and the admin
// editor both call it, so both validate, sanitise, keep revisions and
// detect edit conflicts alike (docs/ARCHITECTURE.md, "Newsroom service").
package newsroom

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"go.yaml.in/yaml/v3"
)

// Input is an article as a writer sends it: the front-matter fields as
// typed (dates as in front matter: "2026-11-13" or RFC 3339; without a
// zone, site.timezone) plus the Markdown body. The JSON names are the
// front-matter keys, as the API speaks them.
type Input struct {
	Slug        string   `json:"slug"`
	Title       string   `json:"title"`
	Date        string   `json:"date"`
	Updated     string   `json:"updated"`
	Author      string   `json:"author"`
	AuthorEmail string   `json:"author_email"`
	Tags        []string `json:"tags"`
	Summary     string   `json:"summary"`
	Image       string   `json:"image"`
	ImageAlt    string   `json:"image_alt"`
	Link        string   `json:"link"`
	Draft       bool     `json:"draft"`
	Body        string   `json:"body"`
	// Base is the version (Article's revision, see Service.Version) the
	// edit started from; a write whose Base is not the current version is
	// a *ConflictError. "" writes without the check (API clients that do
	// not send it).
	Base string `json:"base,omitempty"`
}

// Patch changes some fields of an article: a nil field stays as it is.
type Patch struct {
	Title       *string   `json:"title"`
	Date        *string   `json:"date"`
	Updated     *string   `json:"updated"`
	Author      *string   `json:"author"`
	AuthorEmail *string   `json:"author_email"`
	Tags        *[]string `json:"tags"`
	Summary     *string   `json:"summary"`
	Image       *string   `json:"image"`
	ImageAlt    *string   `json:"image_alt"`
	Link        *string   `json:"link"`
	Draft       *bool     `json:"draft"`
	Body        *string   `json:"body"`
	Base        *string   `json:"base"`
}

// apply returns in with p's fields set.
func (p Patch) apply(in Input) Input {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.Title, p.Title)
	set(&in.Date, p.Date)
	set(&in.Updated, p.Updated)
	set(&in.Author, p.Author)
	set(&in.AuthorEmail, p.AuthorEmail)
	set(&in.Summary, p.Summary)
	set(&in.Image, p.Image)
	set(&in.ImageAlt, p.ImageAlt)
	set(&in.Link, p.Link)
	set(&in.Body, p.Body)
	set(&in.Base, p.Base)
	if p.Tags != nil {
		in.Tags = *p.Tags
	}
	if p.Draft != nil {
		in.Draft = *p.Draft
	}
	return in
}

// FieldError is a problem with one field; Field is the front-matter key
// (or "body"), "" for the article as a whole. Message is the parser's own.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// InvalidError is an Input that fails validation; Errors has at least one
// entry, in the order of the form's fields.
type InvalidError struct {
	Errors []FieldError
}

func (e *InvalidError) Error() string {
	if len(e.Errors) == 0 {
		return "invalid article"
	}
	return e.Errors[0].Message
}

// fieldOrder is the order of the editor's form; errors are sorted by it.
var fieldOrder = []string{"slug", "title", "date", "updated", "author", "author_email", "tags",
	"summary", "image", "image_alt", "link", "draft", "body", ""}

func fieldRank(f string) int {
	for i, k := range fieldOrder {
		if k == f {
			return i
		}
	}
	return len(fieldOrder)
}

// Validate checks in as the content folder's parser checks a file, plus
// the rules for articles written in Herald (alt text with an image); nil
// means it would save. It writes nothing.
func (s *Service) Validate(in Input) []FieldError {
	_, errs, err := s.build(in)
	if err != nil {
		return []FieldError{{Field: "tags", Message: err.Error()}}
	}
	return errs
}

// ReservedSlug is the slug no new article written here may take: the
// admin editor's new-article form is /admin/articles/new. (One stored
// before stays editable.)
const ReservedSlug = "new"

// build turns in into an article exactly as a file in the content folder
// is parsed: it writes the fields as front matter and runs the parser.
// The error return is only a tag list over the client bounds
// (article.ErrTagList); field problems come back as FieldErrors.
func (s *Service) build(in Input) (*article.Article, []FieldError, error) {
	var errs []FieldError
	bad := func(field, msg string) {
		for _, e := range errs {
			if e.Field == field {
				return // the first problem of a field is the one to fix
			}
		}
		errs = append(errs, FieldError{Field: field, Message: msg})
	}
	if strings.TrimSpace(in.Title) == "" {
		bad("title", "title is required")
	}
	if strings.TrimSpace(in.Date) == "" {
		bad("date", "date is required (2018-11-13 or RFC 3339)")
	}
	slug := article.Slugify(in.Slug)
	switch {
	case slug != "":
	case strings.TrimSpace(in.Slug) != "":
		bad("slug", fmt.Sprintf("slug %q has no letters or digits", in.Slug))
	case strings.TrimSpace(in.Title) != "":
		// No slug: Create makes one from the title, once.
		if slug = article.Slugify(in.Title); slug == "" {
			bad("slug", fmt.Sprintf("title %q has no letters or digits to make a slug from: give a slug", in.Title))
		} else if slug == ReservedSlug {
			slug += "-2" // as if taken: a title "New" still saves
		}
	}
	if len(in.Tags) > 0 {
		if _, err := article.TagSlugs(in.Tags); err != nil {
			return nil, nil, err
		}
		for _, t := range in.Tags {
			if strings.TrimSpace(t) == "" {
				bad("tags", "tags must not be empty strings")
			}
		}
	}
	var fm yaml.Node
	fm.Kind = yaml.MappingNode
	add := func(key string, v *yaml.Node) {
		fm.Content = append(fm.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	}
	str := func(key, v string) {
		if v != "" {
			add(key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v})
		}
	}
	name := slug
	if name == "" {
		name = "article"
	}
	// A missing title or date is reported above; a stand-in lets the
	// parser go on to find problems in the other fields.
	title, date := in.Title, in.Date
	if strings.TrimSpace(title) == "" {
		title = "untitled"
	}
	if strings.TrimSpace(date) == "" {
		date = "2000-01-01"
	}
	str("slug", name)
	str("title", title)
	str("date", date)
	str("updated", in.Updated)
	str("author", in.Author)
	str("author_email", in.AuthorEmail)
	if len(in.Tags) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, t := range in.Tags {
			if strings.TrimSpace(t) != "" {
				seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t})
			}
		}
		if len(seq.Content) > 0 {
			add("tags", seq)
		}
	}
	str("summary", in.Summary)
	str("image", in.Image)
	str("image_alt", in.ImageAlt)
	str("link", in.Link)
	if in.Draft {
		str("draft", "true")
	}
	yml, err := yaml.Marshal(&fm)
	if err != nil {
		bad("", "cannot encode the article: "+err.Error())
		return nil, sortErrs(errs), nil
	}
	doc := make([]byte, 0, len(yml)+len(in.Body)+16)
	doc = append(doc, "---\n"...)
	doc = append(doc, yml...)
	doc = append(doc, "---\n"...)
	doc = append(doc, in.Body...)
	ar, err := s.Parser.Parse(name+".md", doc)
	if err != nil {
		var pe *article.ParseError
		if !errors.As(err, &pe) {
			bad("", err.Error())
		} else {
			bad(fieldAt(yml, pe.Line), pe.Msg)
		}
	}
	// Herald's own rule for articles written here: a lead image needs a
	// description. Files keep the parser's rule, so an old content folder
	// still imports.
	if strings.TrimSpace(in.Image) != "" && strings.TrimSpace(in.ImageAlt) == "" {
		bad("image_alt", "image_alt is required with an image: describe it for readers who cannot see it")
	}
	if len(errs) > 0 {
		return nil, sortErrs(errs), nil
	}
	ar.Source, ar.SourcePath = article.SourceAPI, ""
	// The hash leaves the slug out: the store may suffix a derived slug
	// (-2), and a later save of the same content must still be unchanged.
	noSlug := fm
	noSlug.Content = fm.Content[2:]
	ymlNoSlug, err := yaml.Marshal(&noSlug)
	if err != nil {
		return nil, []FieldError{{Message: "cannot encode the article: " + err.Error()}}, nil
	}
	sum := sha256.New()
	sum.Write(ymlNoSlug)
	sum.Write([]byte("---\n"))
	sum.Write([]byte(in.Body))
	ar.ContentHash = hex.EncodeToString(sum.Sum(nil))
	return ar, nil, nil
}

func sortErrs(errs []FieldError) []FieldError {
	// Insertion sort: a handful of entries, and stable.
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && fieldRank(errs[j].Field) < fieldRank(errs[j-1].Field); j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
	return errs
}

// fieldAt names the front-matter key that the parser's error line (in
// the document "---\n" + yml + "---\n" + body) points into.
func fieldAt(yml []byte, line int) string {
	if line <= 0 {
		return ""
	}
	var root yaml.Node
	if yaml.Unmarshal(yml, &root) != nil || len(root.Content) == 0 {
		return ""
	}
	fmLine := line - 1 // the parser counts the opening "---" as line 1
	if fmLine > strings.Count(string(yml), "\n") {
		return "body"
	}
	field := ""
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Line <= fmLine {
			field = m.Content[i].Value
		}
	}
	return field
}

// InputOf is what a writer would send to get ar back: what the editor's
// form shows and a Patch starts from. A summary equal to the body's first
// paragraph was derived, so it stays derived when the body changes.
func (s *Service) InputOf(ar *article.Article) Input {
	in := Input{
		Slug:        ar.Slug,
		Title:       ar.Title,
		Date:        ar.Published.UTC().Format(time.RFC3339Nano),
		Author:      ar.AuthorName,
		AuthorEmail: ar.AuthorEmail,
		Summary:     ar.Summary,
		Link:        ar.Link,
		Draft:       ar.Draft,
		Body:        ar.Body,
	}
	for _, t := range ar.Tags {
		in.Tags = append(in.Tags, t.Name)
	}
	if ar.Image != nil {
		in.Image, in.ImageAlt = ar.Image.Ref(), ar.Image.Alt
	}
	if _, first, err := s.Parser.RenderBody(ar.Body); err == nil && article.Excerpt(first, 300) == ar.Summary {
		in.Summary = ""
	}
	return in
}
