package subscribe

import (
	"net/netip"
	"sync"
	"time"
)

// Limiter is a token bucket per key (a client IP): perMinute requests a
// minute with bursts of as many. A zero or negative rate allows all. An
// IPv6 client is keyed on its /64, the smallest block one subscriber line
// gets, so rotating through its addresses earns no extra tokens.
// Idle buckets are forgotten, so memory stays bounded by recent clients.
type Limiter struct {
	perMinute float64
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter of perMinute requests per key.
func NewLimiter(perMinute int) *Limiter {
	return &Limiter{perMinute: float64(perMinute), buckets: map[string]*bucket{}}
}

// Allow takes one request for key at now; false means over the limit,
// and retry is how long until the next request would pass.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retry time.Duration) {
	if l == nil || l.perMinute <= 0 {
		return true, 0
	}
	key = clientKey(key)
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
