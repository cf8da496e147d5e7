package storetest

import (
	"context"
	"sync"
	"testing"
	"time"
)

// InstanceStore is what several instances on one store agree on through
// it: one WebSub ping per change, shared rate-limit counts and leases
// (docs/ARCHITECTURE.md, "Leases and slots").
type InstanceStore interface {
	ClaimPing(ctx context.Context, feedURL, etag string, now time.Time) (bool, error)
	CountHit(ctx context.Context, key string, window, previous time.Time) (cur, prev int64, err error)
	PruneHits(ctx context.Context, before time.Time) (int64, error)
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// RunInstances runs the suite; open returns two handles on one fresh
// store, as two instances have.
func RunInstances(t *testing.T, open func(t *testing.T) (a, b InstanceStore)) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

	t.Run("PingOncePerChange", func(t *testing.T) {
		a, b := open(t)
		const u = "https://example.org/feed.xml"
		steps := []struct {
			st   InstanceStore
			etag string
			want bool
		}{
			{a, "e1", true},  // first bytes: announced
			{b, "e1", false}, // the other instance saw the same change
			{a, "e1", false},
			{b, "e2", true},
			{a, "e2", false},
			{a, "e1", true}, // back to earlier bytes is a change too
		}
		for i, s := range steps {
			got, err := s.st.ClaimPing(ctx, u, s.etag, now)
			if err != nil {
				t.Fatal(err)
			}
			if got != s.want {
				t.Fatalf("step %d: ClaimPing(%s) = %v, want %v", i, s.etag, got, s.want)
			}
		}
		if ok, err := b.ClaimPing(ctx, "https://example.org/other.xml", "e1", now); err != nil || !ok {
			t.Fatalf("another feed: %v %v", ok, err)
		}
	})

	t.Run("PingConcurrent", func(t *testing.T) {
		a, b := open(t)
		var mu sync.Mutex
		won := 0
		var wg sync.WaitGroup
		for i := range 8 {
			st := a
			if i%2 == 1 {
				st = b
			}
			wg.Go(func() {
				ok, err := st.ClaimPing(ctx, "https://example.org/c.xml", "x", now)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d claims won, want 1", won)
		}
	})

	t.Run("HitsShared", func(t *testing.T) {
		a, b := open(t)
		w0, w1 := now.Add(-time.Minute), now
		for i, st := range []InstanceStore{a, b, a} {
			cur, prev, err := st.CountHit(ctx, "192.0.2.1", w0, w0.Add(-time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if cur != int64(i+1) || prev != 0 {
				t.Fatalf("hit %d: cur %d prev %d", i, cur, prev)
			}
		}
		cur, prev, err := b.CountHit(ctx, "192.0.2.1", w1, w0)
		if err != nil || cur != 1 || prev != 3 {
			t.Fatalf("next window: cur %d prev %d err %v", cur, prev, err)
		}
		if cur, _, err := a.CountHit(ctx, "192.0.2.2", w1, w0); err != nil || cur != 1 {
			t.Fatalf("other key: cur %d err %v", cur, err)
		}
		n, err := a.PruneHits(ctx, w1)
		if err != nil || n != 1 {
			t.Fatalf("prune: %d %v", n, err)
		}
		if _, prev, err := b.CountHit(ctx, "192.0.2.1", w1, w0); err != nil || prev != 0 {
			t.Fatalf("after prune: prev %d err %v", prev, err)
		}
	})

	t.Run("HitsConcurrent", func(t *testing.T) {
		a, b := open(t)
		var wg sync.WaitGroup
		for i := range 10 {
			st := a
			if i%2 == 1 {
				st = b
			}
			wg.Go(func() {
				if _, _, err := st.CountHit(ctx, "k", now, now.Add(-time.Minute)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if cur, _, err := a.CountHit(ctx, "k", now, now.Add(-time.Minute)); err != nil || cur != 11 {
			t.Fatalf("after 10 concurrent hits: %d %v", cur, err)
		}
	})

	t.Run("Lease", func(t *testing.T) {
		a, b := open(t)
		const name, ttl = "content-sync", time.Minute
		steps := []struct {
			st     InstanceStore
			holder string
			at     time.Time
			want   bool
		}{
			{a, "A", now, true},
			{b, "B", now.Add(time.Second), false},       // A's is live
			{a, "A", now.Add(50 * time.Second), true},   // renewal, to +110 s
			{b, "B", now.Add(100 * time.Second), false}, // still live after the renewal
			{b, "B", now.Add(110 * time.Second), true},  // expired: taken over
			{a, "A", now.Add(120 * time.Second), false}, // A lost it
		}
		for i, s := range steps {
			got, err := s.st.AcquireLease(ctx, name, s.holder, s.at, ttl)
			if err != nil {
				t.Fatal(err)
			}
			if got != s.want {
				t.Fatalf("step %d: %s acquire = %v, want %v", i, s.holder, got, s.want)
			}
		}
		if err := a.ReleaseLease(ctx, name, "A"); err != nil { // not A's: no effect
			t.Fatal(err)
		}
		if ok, err := a.AcquireLease(ctx, name, "A", now.Add(121*time.Second), ttl); err != nil || ok {
			t.Fatalf("after a release by a non-holder: %v %v", ok, err)
		}
		if err := b.ReleaseLease(ctx, name, "B"); err != nil {
			t.Fatal(err)
		}
		if ok, err := a.AcquireLease(ctx, name, "A", now.Add(122*time.Second), ttl); err != nil || !ok {
			t.Fatalf("after release: %v %v", ok, err)
		}
		if ok, err := b.AcquireLease(ctx, "other", "B", now, ttl); err != nil || !ok {
			t.Fatalf("another lease: %v %v", ok, err)
		}
	})

	t.Run("LeaseConcurrent", func(t *testing.T) {
		a, b := open(t)
		var mu sync.Mutex
		won := 0
		var wg sync.WaitGroup
		for i := range 8 {
			st := a
			if i%2 == 1 {
				st = b
			}
			holder := string(rune('A' + i))
			wg.Go(func() {
				ok, err := st.AcquireLease(ctx, "x", holder, now, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d holders won, want 1", won)
		}
	})
}
