package subscribe

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Limiter limits requests per key (a client IP) to perMinute a minute. A
// zero or negative rate allows all. An IPv6 client is keyed on its /64,
// the smallest block one subscriber line gets, so rotating through its
// addresses earns no extra requests.
//
// With a RateStore (NewSharedLimiter) the counts live in the store, so the
// limit holds across every instance sharing it: a sliding window
// estimated from the counts of this minute and the last. Without one, or
// while the store fails, it is a token bucket per key in memory, with
// bursts of perMinute; idle buckets are forgotten, so memory stays
// bounded by recent clients.
type Limiter struct {
	perMinute float64
	shared    RateStore
	log       *slog.Logger
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
	lastPrune time.Time
}

// RateStore keeps request counts per key and one-minute window where
// every instance sees them (docs/ARCHITECTURE.md, "Leases and slots").
type RateStore interface {
	// CountHit adds one request to key's window starting at window and
	// returns its count with it, and the count of the window at previous.
	CountHit(ctx context.Context, key string, window, previous time.Time) (cur, prev int64, err error)
	// PruneHits deletes the counts of windows started before before.
	PruneHits(ctx context.Context, before time.Time) (int64, error)
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter of perMinute requests per key.
func NewLimiter(perMinute int) *Limiter {
	return &Limiter{perMinute: float64(perMinute), buckets: map[string]*bucket{}}
}

// NewSharedLimiter returns a limiter of perMinute requests per key
// counted in st; log gets store failures, during which it limits in
// memory.
func NewSharedLimiter(perMinute int, st RateStore, log *slog.Logger) *Limiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := NewLimiter(perMinute)
	l.shared, l.log = st, log
	return l
}

// Allow takes one request for key at now; false means over the limit,
// and retry is how long until the next request would pass.
func (l *Limiter) Allow(ctx context.Context, key string, now time.Time) (ok bool, retry time.Duration) {
	if l == nil || l.perMinute <= 0 {
		return true, 0
	}
	key = clientKey(key)
	if l.shared != nil {
		ok, retry, err := l.allowShared(ctx, key, now)
		if err == nil {
			return ok, retry
		}
		l.log.Warn("subscribe rate limit: store failed; limiting in this instance only", slog.Any("err", err))
	}
	return l.allowLocal(key, now)
}

// allowShared counts the request in the store. Refused requests count
// too, so a client that keeps trying stays refused. The estimate weighs
// the last minute's count by how much of it still lies within the past
// 60 seconds.
func (l *Limiter) allowShared(ctx context.Context, key string, now time.Time) (bool, time.Duration, error) {
	window := now.Truncate(time.Minute)
	previous := window.Add(-time.Minute)
	l.mu.Lock()
	prune := now.Sub(l.lastPrune) >= time.Minute
	if prune {
		l.lastPrune = now
	}
	l.mu.Unlock()
	if prune {
		if _, err := l.shared.PruneHits(ctx, previous); err != nil {
			return false, 0, err
		}
	}
	cur, prev, err := l.shared.CountHit(ctx, key, window, previous)
	if err != nil {
		return false, 0, err
	}
	left := 1 - float64(now.Sub(window))/float64(time.Minute)
	if float64(prev)*left+float64(cur) <= l.perMinute {
		return true, 0, nil
	}
	return false, window.Add(time.Minute).Sub(now), nil
}

// allowLocal is the in-memory token bucket.
func (l *Limiter) allowLocal(key string, now time.Time) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.perMinute, last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.perMinute, b.tokens+el.Minutes()*l.perMinute)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	need := (1 - b.tokens) / l.perMinute
	return false, time.Duration(need * float64(time.Minute))
}

// sweep drops buckets that have refilled completely: they are the same as
// no bucket.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.last) >= time.Minute {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}

// clientKey is the bucket of a key: an IPv6 address becomes its /64 (an
// IPv4-mapped one its IPv4 address); anything else is used as it is.
func clientKey(key string) string {
	a, err := netip.ParseAddr(key)
	if err != nil {
		return key
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}
