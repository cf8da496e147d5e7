package feed

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/herald-news/herald/internal/article"
)

// Errors Bytes and the handlers return; the handlers map them to 404 and
// 400 (see status).
var (
	ErrUnknownTag = errors.New("feed: unknown tag")
	ErrNoSuchPage = errors.New("feed: no such page")
	ErrBadVariant = errors.New("feed: bad feed parameters")
)

// Variant names one feed document: a format, the tag of a tag feed's URL
// path, the extra tags of ?tags= (any of), ?limit= and ?page=.
type Variant struct {
	Format Format
	Tag    string   // tag name or slug; empty: the site feed
	Tags   []string // tag names or slugs
	Limit  int      // 0: Options.Items
	Page   int      // 0: 1
}

// normalize returns v in canonical form (slugs, sorted and deduplicated
// extra tags without the path tag, defaults filled in) or ErrBadVariant.
func (v Variant) normalize(items, maxItems int) (Variant, error) {
	if !v.Format.Valid() {
		return v, fmt.Errorf("%w: format %q (want rss, atom or json)", ErrBadVariant, v.Format)
	}
	if v.Tag != "" {
		v.Tag = article.Slugify(v.Tag)
		if v.Tag == "" {
			return v, fmt.Errorf("%w: empty tag", ErrUnknownTag)
		}
	}
	var tags []string
	for _, t := range v.Tags {
		s := article.Slugify(t)
		if s == "" || s == v.Tag {
			continue
		}
		tags = append(tags, s)
	}
	slices.Sort(tags)
	v.Tags = slices.Compact(tags)
	switch {
	case v.Limit == 0:
		v.Limit = items
	case v.Limit < 1 || v.Limit > maxItems:
		return v, fmt.Errorf("%w: limit must be 1 to %d, got %d", ErrBadVariant, maxItems, v.Limit)
	}
	switch {
	case v.Page == 0:
		v.Page = 1
	case v.Page < 1:
		return v, fmt.Errorf("%w: page must be at least 1, got %d", ErrBadVariant, v.Page)
	}
	return v, nil
}

// parseQuery reads ?tags=, ?limit= and ?page= into v. Other parameters
// are ignored (the canonical redirect drops them).
func parseQuery(v Variant, raw string) (Variant, error) {
	q, tags, err := article.TagQuery(raw)
	if err != nil {
		return v, fmt.Errorf("%w: %w", ErrBadVariant, err)
	}
	v.Tags = append(v.Tags, tags...)
	num := func(name string) (int, error) {
		s := q.Get(name)
		if s == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%w: %s must be a positive whole number, got %q", ErrBadVariant, name, s)
		}
		return n, nil
	}
	if v.Limit, err = num("limit"); err != nil {
		return v, err
	}
	if v.Page, err = num("page"); err != nil {
		return v, err
	}
	return v, nil
}

// path is the URL path of the variant's feed.
func (v Variant) path() string {
	if v.Tag != "" {
		return "/tags/" + v.Tag + "/feed." + v.Format.Ext()
	}
	return "/feed." + v.Format.Ext()
}

// query is the canonical query of a normalized variant for page n; only
// non-default parameters appear, in a fixed order, so one feed has one URL.
// Slugs need no escaping.
func (v Variant) query(items, page int) string {
	var b strings.Builder
	sep := func() {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
	}
	if len(v.Tags) > 0 {
		b.WriteString("tags=")
		b.WriteString(strings.Join(v.Tags, ","))
	}
	if v.Limit != items {
		sep()
		b.WriteString("limit=")
		b.WriteString(strconv.Itoa(v.Limit))
	}
	if page > 1 {
		sep()
		b.WriteString("page=")
		b.WriteString(strconv.Itoa(page))
	}
	return b.String()
}

// url is the absolute URL of page n of the variant.
func (v Variant) url(base string, items, page int) string {
	u := base + v.path()
	if q := v.query(items, page); q != "" {
		u += "?" + q
	}
	return u
}

// isMain reports whether a normalized variant is rendered ahead by Refresh.
func (v Variant) isMain(items int) bool {
	return len(v.Tags) == 0 && v.Limit == items && v.Page == 1
}
