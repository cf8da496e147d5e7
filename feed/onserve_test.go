package feed

import (
	"sync/atomic"
	"testing"
)

// TestOnServe: the hook hears a hit for cached variants (rendered ahead,
// or in the LRU) and a miss for a variant rendered for the request.
func TestOnServe(t *testing.T) {
	var counts [2]atomic.Int64
	fx := newFixture(t, Options{OnServe: func(r CacheResult) { counts[r].Add(1) }})
	for _, a := range numbered(5) {
		storeArticle(t, fx.store, a)
	}
	fx.refresh()
	steps := []struct {
		path      string
		hit, miss int64
	}{
		{"/feed.atom", 1, 0},
		{"/tags/news/feed.json", 2, 0},
		{"/feed.rss?limit=2", 2, 1},
		{"/feed.rss?limit=2", 3, 1},
		{"/tags/nope/feed.atom", 3, 1}, // an error is neither
	}
	for _, s := range steps {
		fx.get(s.path)
		if h, m := counts[CacheHit].Load(), counts[CacheMiss].Load(); h != s.hit || m != s.miss {
			t.Errorf("after %s: %d hits %d misses, want %d %d", s.path, h, m, s.hit, s.miss)
		}
	}
	if CacheHit.String() != "hit" || CacheMiss.String() != "miss" {
		t.Error("names")
	}
}
