package postgres

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/testenv"
)

// BenchmarkPlanDeliveries plans one run to HERALD_BENCH_SUBSCRIBERS
// active subscribers (default 1,000,000): the single INSERT … SELECT
// (target: < 10 s for a million).
func BenchmarkPlanDeliveries(b *testing.B) {
	ctx := context.Background()
	n := 1_000_000
	if v := os.Getenv("HERALD_BENCH_SUBSCRIBERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("HERALD_BENCH_SUBSCRIBERS: %v", err)
		}
	}
	s, err := Open(ctx, testenv.PostgresDSN(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	addArticle(b, s, "p", t0.Add(-time.Hour), false)
	if _, err := s.pool.Exec(ctx, `INSERT INTO subscribers (email, status, created_at, updated_at)
		SELECT 'user' || i || '@example.org', 'active', 0, 0 FROM generate_series(1, $1) AS i`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at) SELECT 'monthly', id, 0 FROM subscribers`); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE subscribers, subscriptions`); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		slot := t0.Add(time.Duration(i) * time.Minute)
		i++
		req := digest.PlanRequest{Selection: digest.Selection{Newsletter: "monthly", SlotAt: slot, MaxArticles: 10},
			Slot: slot.Format(time.RFC3339), Kind: digest.KindManual, SendIfEmpty: true, Now: slot}
		run, err := s.PlanRun(ctx, req, func(*digest.Run, []article.Article) ([]digest.Variant, error) { return nil, nil })
		if err != nil {
			b.Fatal(err)
		}
		if run.Recipients != n {
			b.Fatalf("planned %d, want %d", run.Recipients, n)
		}
	}
}
