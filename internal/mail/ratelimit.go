package mail

import (
	"context"
	"sync"
	"time"
)

// limiter spaces events at a fixed rate across goroutines (GCRA with a
// burst of one): one mail every 1/rate seconds, never a burst that a relay's
// per-second limit would refuse.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time // earliest time the next event may happen
}

// newLimiter returns nil (no limit) for rate <= 0.
func newLimiter(rate float64) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{interval: time.Duration(float64(time.Second) / rate)}
}

// Wait blocks until the caller may go or ctx ends. A cancelled wait hands
// its slot back so that cancellations do not slow the others down.
func (l *limiter) Wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		if l.next.Equal(at.Add(l.interval)) {
			l.next = at
		}
		l.mu.Unlock()
		return ctx.Err()
	}
}
