package feed

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// entry is one rendered feed document with everything a response needs,
// computed once: the hot path only copies header slices and writes bytes.
// Header value slices are shared between responses and never modified
// (their capacity equals their length, so an append by middleware copies).
type entry struct {
	self     string
	body     [2][]byte   // identity, gzip
	etag     [2][]string // strong, quoted; they differ per encoding
	length   [2][]string // Content-Length
	modTime  time.Time   // whole seconds
	lastMod  []string
	ctype    []string
	link     []string // Link header with hub and self; nil without hubs
	identity string   // the identity ETag unquoted, for comparisons
}

const (
	identity = 0
	gzipped  = 1
)

func one(s string) []string { return []string{s} }

// newEntry precomputes the responses for body.
func newEntry(f Format, self string, body []byte, modTime time.Time, hubs []string, gz *gzipPool) (*entry, error) {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:16])
	zb, err := gz.compress(body)
	if err != nil {
		return nil, err
	}
	modTime = modTime.UTC().Truncate(time.Second)
	e := &entry{
		self:     self,
		body:     [2][]byte{body, zb},
		etag:     [2][]string{one(`"` + tag + `"`), one(`"` + tag + `-gz"`)},
		length:   [2][]string{one(strconv.Itoa(len(body))), one(strconv.Itoa(len(zb)))},
		modTime:  modTime,
		lastMod:  one(modTime.Format(http.TimeFormat)),
		ctype:    one(f.ContentType()),
		identity: tag,
	}
	if len(hubs) > 0 {
		var b bytes.Buffer
		for _, h := range hubs {
			fmt.Fprintf(&b, "<%s>; rel=\"hub\", ", h)
		}
		fmt.Fprintf(&b, "<%s>; rel=\"self\"", self)
		e.link = one(b.String())
	}
	return e, nil
}

// gzipPool reuses gzip writers: each holds about 800 KB of state.
type gzipPool struct{ p sync.Pool }

func (g *gzipPool) compress(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(body)/3 + 64)
	zw, _ := g.p.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	} else {
		zw.Reset(&buf)
	}
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("feed: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("feed: gzip: %w", err)
	}
	g.p.Put(zw)
	return buf.Bytes(), nil
}

// lru holds on-demand variants (?tags=, ?limit=, ?page=), most recently
// used first, at most size of them. Refresh empties it and bumps gen, so
// a render that began before a refresh cannot store stale bytes after it.
type lru struct {
	mu    sync.Mutex
	size  int
	gen   uint64
	order *list.List // of *lruItem
	byKey map[string]*list.Element
}

type lruItem struct {
	key string
	e   *entry
}

func newLRU(size int) *lru {
	return &lru{size: size, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *lru) get(key string) (*entry, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		return el.Value.(*lruItem).e, c.gen
	}
	return nil, c.gen
}

// put stores e unless the cache was reset since gen was read.
func (c *lru) put(key string, e *entry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.size <= 0 {
		return
	}
	if el, ok := c.byKey[key]; ok {
		el.Value.(*lruItem).e = e
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&lruItem{key, e})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*lruItem).key)
	}
}

func (c *lru) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.order.Init()
	clear(c.byKey)
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
