package subscribe_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
)

// TestSharedLimiter: two limiters on two handles of one store (two
// instances) share the limit; in memory each would allow rate requests.
func TestSharedLimiter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "herald.db")
	var ls [2]*subscribe.Limiter
	for i := range ls {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ls[i] = subscribe.NewSharedLimiter(4, st, nil)
	}
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	allow := func(i int, key string, at time.Time) bool {
		ok, retry := ls[i].Allow(ctx, key, at)
		if !ok && (retry <= 0 || retry > time.Minute) {
			t.Fatalf("retry %v", retry)
		}
		return ok
	}
	t.Run("OK", func(t *testing.T) {
		for i := range 4 {
			if !allow(i%2, "192.0.2.1", start) {
				t.Fatalf("request %d refused", i)
			}
		}
	})
	t.Run("ErrOverLimitOnEither", func(t *testing.T) {
		if allow(0, "192.0.2.1", start) || allow(1, "192.0.2.1", start) {
			t.Fatal("fifth request allowed: the instances do not share the limit")
		}
		if !allow(1, "192.0.2.2", start) {
			t.Fatal("another client limited")
		}
	})
	t.Run("IPv6Per64", func(t *testing.T) {
		for i, ip := range []string{"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4"} {
			if !allow(i%2, ip, start) {
				t.Fatalf("request %d refused", i)
			}
		}
		if allow(0, "2001:db8::ffff", start) {
			t.Fatal("another address of the /64 got extra requests")
		}
	})
	t.Run("OKLater", func(t *testing.T) {
		// Two minutes on, neither window counts any more.
		if !allow(0, "192.0.2.1", start.Add(2*time.Minute)) {
			t.Fatal("still refused two minutes later")
		}
	})
}
