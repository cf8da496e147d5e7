package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
)

// Source is what the feed handler needs from the article store; the
// SQLite store implements it.
type Source interface {
	ListArticles(ctx context.Context, q article.Query) ([]article.Article, error)
	CountArticles(ctx context.Context, q article.Query) (int, error)
	ListTags(ctx context.Context, now time.Time) ([]article.TagCount, error)
	GetTag(ctx context.Context, slug string) (article.Tag, error)
	// FeedChanged is when the feed of any of tags (none: the site feed)
	// last changed what it lists, as of now; zero if unknown.
	FeedChanged(ctx context.Context, tags []string, now time.Time) (time.Time, error)
}

// Options tune the handler; zero values get defaults.
type Options struct {
	Items          int      // items in a feed without ?limit= (default 20)
	MaxItems       int      // largest ?limit= (default 100)
	CacheControl   string   // Cache-Control of feed responses (default "public, max-age=300")
	AllowedOrigins []string // CORS: "*" or origins like "https://partner.example"
	LRUSize        int      // on-demand variants kept (default 256)
	Now            func() time.Time
	Logger         *slog.Logger
	// OnServe, if set, hears how each feed response was found: CacheHit
	// (rendered ahead or in the LRU) or CacheMiss (rendered for this
	// request). It runs on the hot path: it must not block or allocate.
	OnServe func(CacheResult)
}

// CacheResult says whether a feed response came from the cache.
type CacheResult uint8

const (
	CacheHit CacheResult = iota
	CacheMiss
)

func (c CacheResult) String() string {
	if c == CacheMiss {
		return "miss"
	}
	return "hit"
}

// Handler serves feeds from memory. The main variants (site and each tag,
// first page, default limit, every format) are rendered by Refresh and
// swapped in atomically; other variants are rendered on first request
// into a bounded LRU that Refresh empties. Safe for concurrent use.
type Handler struct {
	src   Source
	site  Site
	opts  Options
	base  string
	start time.Time // the Updated of feeds the store knows no change of, so they do not change on every Refresh

	main      atomic.Pointer[snapshot]
	memo      contentMemo
	lru       *lru
	gz        gzipPool
	refreshMu sync.Mutex

	hv           headerValues
	cacheControl []string
	vary         []string
	anyOrigin    bool
	origins      map[string]bool
}

// snapshot is the result of one Refresh.
type snapshot struct {
	entries map[mainKey]*entry
	tags    map[string]article.Tag // tags with listed articles, by slug
}

type mainKey struct {
	format Format
	tag    string
}

// NewHandler returns a handler over src. Call Refresh before serving (and
// whenever the store changes); until then every request renders on demand.
func NewHandler(src Source, site Site, opts Options) *Handler {
	if opts.Items < 1 {
		opts.Items = 20
	}
	if opts.MaxItems < opts.Items {
		opts.MaxItems = max(100, opts.Items)
	}
	if opts.CacheControl == "" {
		opts.CacheControl = "public, max-age=300"
	}
	if opts.LRUSize == 0 {
		opts.LRUSize = 256
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	site.BaseURL = strings.TrimRight(site.BaseURL, "/")
	h := &Handler{
		src:          src,
		site:         site,
		opts:         opts,
		base:         site.BaseURL,
		start:        opts.Now().UTC().Truncate(time.Second),
		lru:          newLRU(opts.LRUSize),
		hv:           newHeaderValues(),
		cacheControl: one(opts.CacheControl),
		vary:         one("Accept-Encoding"),
		origins:      map[string]bool{},
	}
	for _, o := range opts.AllowedOrigins {
		if o == "*" {
			h.anyOrigin = true
		} else {
			h.origins[strings.TrimRight(o, "/")] = true
		}
	}
	if !h.anyOrigin && len(h.origins) > 0 {
		h.vary = one("Accept-Encoding, Origin")
	}
	return h
}

// Refresh re-renders the main variants and swaps them in at once, then
// empties the LRU. It returns the self URLs whose bytes changed, for
// WebSub pings: on the first call every main variant counts as changed,
// and a tag feed that lost its last article counts too.
func (h *Handler) Refresh(ctx context.Context) ([]string, error) {
	changes, err := h.RefreshChanges(ctx)
	if err != nil {
		return nil, err
	}
	urls := make([]string, len(changes))
	for i, c := range changes {
		urls[i] = c.URL
	}
	return urls, nil
}

// Change is a feed whose bytes a refresh changed: its self URL and the
// identity of its new bytes (the unquoted ETag, the same on every instance
// rendering the same store), "" for a feed that went away.
type Change struct{ URL, ETag string }

// RefreshChanges is Refresh returning each changed feed with its ETag,
// sorted by URL, so instances can agree on one ping per change.
func (h *Handler) RefreshChanges(ctx context.Context) ([]Change, error) {
	h.refreshMu.Lock()
	defer h.refreshMu.Unlock()
	now := h.opts.Now()
	tags, err := h.src.ListTags(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("feed: refresh: %w", err)
	}
	next := &snapshot{entries: map[mainKey]*entry{}, tags: make(map[string]article.Tag, len(tags))}
	for _, t := range tags {
		next.tags[t.Slug] = t.Tag
	}
	total, err := h.src.CountArticles(ctx, article.Query{Now: now})
	if err != nil {
		return nil, fmt.Errorf("feed: refresh: %w", err)
	}
	if err := h.renderMain(ctx, next, "", total, now); err != nil {
		return nil, err
	}
	for _, t := range tags {
		if err := h.renderMain(ctx, next, t.Slug, t.Count, now); err != nil {
			return nil, err
		}
	}
	prev := h.main.Load()
	var changed []Change
	for k, e := range next.entries {
		if prev == nil || prev.entries[k] == nil || prev.entries[k].identity != e.identity {
			changed = append(changed, Change{URL: e.self, ETag: e.identity})
		}
	}
	if prev != nil {
		for k, e := range prev.entries {
			if next.entries[k] == nil {
				changed = append(changed, Change{URL: e.self})
			}
		}
	}
	h.main.Store(next)
	h.lru.reset()
	slices.SortFunc(changed, func(a, b Change) int { return strings.Compare(a.URL, b.URL) })
	return changed, nil
}

// renderMain renders the three formats of one main variant from one query.
func (h *Handler) renderMain(ctx context.Context, snap *snapshot, tag string, total int, now time.Time) error {
	q := article.Query{Now: now, Limit: h.opts.Items}
	if tag != "" {
		q.Tags = []string{tag}
	}
	items, err := h.src.ListArticles(ctx, q)
	if err != nil {
		return fmt.Errorf("feed: refresh: %w", err)
	}
	mod, err := h.changed(ctx, q.Tags, now)
	if err != nil {
		return err
	}
	for _, f := range Formats() {
		v := Variant{Format: f, Tag: tag, Limit: h.opts.Items, Page: 1}
		e, err := h.build(v, snap.tags, items, total, mod)
		if err != nil {
			return err
		}
		snap.entries[mainKey{f, tag}] = e
	}
	return nil
}

// Bytes returns the bytes the server sends (identity encoding) for v:
// what `herald feed` prints. Tag names are accepted as well as slugs.
func (h *Handler) Bytes(ctx context.Context, v Variant) ([]byte, error) {
	v, err := v.normalize(h.opts.Items, h.opts.MaxItems)
	if err != nil {
		return nil, err
	}
	e, _, err := h.lookup(ctx, v)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), e.body[identity]...), nil
}

// lookup finds or renders a normalized variant, and says which.
func (h *Handler) lookup(ctx context.Context, v Variant) (*entry, CacheResult, error) {
	snap := h.main.Load()
	if snap != nil && v.isMain(h.opts.Items) {
		if e := snap.entries[mainKey{v.Format, v.Tag}]; e != nil {
			return e, CacheHit, nil
		}
	}
	key := v.url(h.base, h.opts.Items, v.Page)
	e, gen := h.lru.get(key)
	if e != nil {
		return e, CacheHit, nil
	}
	var known map[string]article.Tag
	if snap != nil {
		known = snap.tags
	}
	tags, err := h.tags(ctx, v, known)
	if err != nil {
		return nil, CacheMiss, err
	}
	now := h.opts.Now()
	q := article.Query{Now: now, Tags: tagSlugs(v)}
	total, err := h.src.CountArticles(ctx, q)
	if err != nil {
		return nil, CacheMiss, fmt.Errorf("feed: count: %w", err)
	}
	if pages := pageCount(total, v.Limit); v.Page > pages {
		return nil, CacheMiss, fmt.Errorf("%w: page %d of %d", ErrNoSuchPage, v.Page, pages)
	}
	q.Limit, q.Offset = v.Limit, (v.Page-1)*v.Limit
	items, err := h.src.ListArticles(ctx, q)
	if err != nil {
		return nil, CacheMiss, fmt.Errorf("feed: list: %w", err)
	}
	mod, err := h.changed(ctx, q.Tags, now)
	if err != nil {
		return nil, CacheMiss, err
	}
	e, err = h.build(v, tags, items, total, mod)
	if err != nil {
		return nil, CacheMiss, err
	}
	h.lru.put(key, e, gen)
	return e, CacheMiss, nil
}

// tags resolves every tag of v to its name, or ErrUnknownTag.
func (h *Handler) tags(ctx context.Context, v Variant, known map[string]article.Tag) (map[string]article.Tag, error) {
	out := make(map[string]article.Tag, 1+len(v.Tags))
	for _, slug := range tagSlugs(v) {
		if t, ok := known[slug]; ok {
			out[slug] = t
			continue
		}
		t, err := h.src.GetTag(ctx, slug)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownTag, slug)
		}
		if err != nil {
			return nil, fmt.Errorf("feed: tag %q: %w", slug, err)
		}
		out[slug] = t
	}
	return out, nil
}

func tagSlugs(v Variant) []string {
	if v.Tag == "" {
		return v.Tags
	}
	return append([]string{v.Tag}, v.Tags...)
}

func pageCount(total, limit int) int {
	return max(1, (total+limit-1)/limit)
}

// changed is when the feed of any of tags (none: the site feed) last
// changed what it lists. That, not the newest article's date, is the
// feed's Last-Modified, Atom <updated> and RSS <lastBuildDate>: a
// back-dated article does not move the newest date, and a client sending
// only If-Modified-Since would never see it. The store keeps it, so a
// restart does not move it back and every instance agrees.
func (h *Handler) changed(ctx context.Context, tags []string, now time.Time) (time.Time, error) {
	mod, err := h.src.FeedChanged(ctx, tags, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("feed: change time: %w", err)
	}
	if mod.IsZero() {
		mod = h.start
	}
	return mod, nil
}

// build renders a normalized variant's page, last changed at mod, and
// precomputes its responses.
func (h *Handler) build(v Variant, tags map[string]article.Tag, items []article.Article, total int, mod time.Time) (*entry, error) {
	items = visible(items)
	p := Page{
		Format:  v.Format,
		SelfURL: v.url(h.base, h.opts.Items, v.Page),
		HTMLURL: h.base + "/",
		Number:  v.Page,
		Size:    v.Limit,
		Total:   total,
	}
	var names []string
	if v.Tag != "" {
		t := tags[v.Tag]
		p.Tag = &t
		p.HTMLURL = h.base + "/tags/" + v.Tag
		names = append(names, t.Name)
	}
	for _, s := range v.Tags {
		names = append(names, tags[s].Name)
	}
	if len(names) > 0 {
		p.Title = h.site.Title + ": " + strings.Join(names, ", ")
	}
	if pages := pageCount(total, v.Limit); pages > 1 {
		p.FirstURL = v.url(h.base, h.opts.Items, 1)
		p.LastURL = v.url(h.base, h.opts.Items, pages)
		if v.Page > 1 {
			p.PrevURL = v.url(h.base, h.opts.Items, v.Page-1)
		}
		if v.Page < pages {
			p.NextURL = v.url(h.base, h.opts.Items, v.Page+1)
		}
	}
	p.Updated = mod
	body, err := render(h.site, p, items, &h.memo)
	if err != nil {
		return nil, err
	}
	return newEntry(v.Format, p.SelfURL, body, mod, h.site.Hubs, &h.gz)
}

// visible drops articles a Source should not have returned (drafts,
// removed ones): a feed is public whatever the store does.
func visible(items []article.Article) []article.Article {
	for i := range items {
		if items[i].Draft || items[i].Removed {
			out := append(make([]article.Article, 0, len(items)), items[:i]...)
			for _, a := range items[i+1:] {
				if !a.Draft && !a.Removed {
					out = append(out, a)
				}
			}
			return out
		}
	}
	return items
}
