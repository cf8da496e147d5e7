package article

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Bounds of a tag list from a client: a URL (feeds, embed, frame), a form
// or JSON (subscribe, API). Each tag costs a store condition and a line of
// output, so an unbounded list was a cheap way to make large answers.
const (
	// MaxTagQuery bounds the raw query of a URL that may carry ?tags=.
	MaxTagQuery = 2 << 10
	// MaxTags bounds the distinct tags of one list.
	MaxTags = 50
	// maxTagName bounds one tag as given.
	maxTagName = 200
)

// ErrTagList marks a tag list (or the query carrying one) that a client
// must change: a 400, never a server error. Its text is fit to show.
var ErrTagList = errors.New("tag list")

// TagSlugs turns tag names or slugs into distinct slugs in the order
// given, dropping those without letters or digits. More than MaxTags, or a
// name longer than 200 bytes, is ErrTagList.
func TagSlugs(names []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if len(n) > maxTagName {
			return nil, fmt.Errorf("%w: a tag is longer than %d bytes", ErrTagList, maxTagName)
		}
		s := Slugify(n)
		if s == "" || seen[s] {
			continue
		}
		if len(out) == MaxTags {
			return nil, fmt.Errorf("%w: more than %d tags", ErrTagList, MaxTags)
		}
		seen[s] = true
		out = append(out, s)
	}
	return out, nil
}

// TagQuery parses a URL query that may carry a tag list, as ?tags=a,b or
// repeated: the query's values and the list's slugs (TagSlugs). A query
// longer than MaxTagQuery or malformed is ErrTagList, before any parsing.
func TagQuery(raw string) (url.Values, []string, error) {
	if len(raw) > MaxTagQuery {
		return nil, nil, fmt.Errorf("%w: the query is longer than %d bytes", ErrTagList, MaxTagQuery)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: malformed query: %w", ErrTagList, err)
	}
	var names []string
	for _, v := range q["tags"] {
		names = append(names, strings.Split(v, ",")...)
	}
	tags, err := TagSlugs(names)
	return q, tags, err
}
