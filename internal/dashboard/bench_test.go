package dashboard_test

import (
	"context"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/dashboard"
	"github.com/herald-news/herald/internal/dashboard/dashboardtest"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/templates"
)

// The admin pages' bar (issue 13): with 100,000 subscribers and 1,000
// runs, a subscriber search (with its total) and the dashboard each under
// 50 ms server-side, on SQLite and PostgreSQL. Results: BENCHMARKS.md,
// "Admin dashboard and subscriber search". The seeded stores are
// dashboardtest's.

// benchStore is a seeded store as the benchmarks see it.
type benchStore interface {
	dashboard.Store
	subscribe.Store
	TokenKey(ctx context.Context) ([]byte, error)
}

func benchmarkBackends(b *testing.B, run func(b *testing.B, st benchStore)) {
	for _, be := range []struct {
		name string
		open func(b *testing.B) benchStore
	}{
		{"sqlite", func(b *testing.B) benchStore { return dashboardtest.SQLite(b) }},
		{"postgres", func(b *testing.B) benchStore { return dashboardtest.Postgres(b) }},
	} {
		b.Run(be.name, func(b *testing.B) { run(b, be.open(b)) })
	}
}

// BenchmarkSubscriberSearch is a page of 50 and the total matching: a
// substring of names (non-ASCII, any case), a status and a topic.
func BenchmarkSubscriberSearch(b *testing.B) {
	benchmarkBackends(b, func(b *testing.B, st benchStore) {
		ctx := context.Background()
		key, err := st.TokenKey(ctx)
		if err != nil {
			b.Fatal(err)
		}
		svc, err := subscribe.New(subscribe.Config{BaseURL: "https://news.example.org", Templates: templates.Embedded(),
			Newsletters: []subscribe.Newsletter{{ID: "monthly", Default: true}, {ID: "weekly", Tags: []string{"wp4"}}},
			Tokens:      subscribe.NewTokens([][]byte{key}), Store: st, Mailer: subscribetest.NewMailer(), Now: func() time.Time { return dashboardtest.Now }})
		if err != nil {
			b.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			f     subscribe.Filter
			total int
		}{
			{"substring", subscribe.Filter{Query: "STRÖM 4"}, 222},
			{"status", subscribe.Filter{Status: subscribe.StatusUnsubscribed}, 10000},
			{"topic", subscribe.Filter{Tag: "wp4", Newsletter: "monthly"}, 12856},
		} {
			b.Run(tc.name, func(b *testing.B) {
				p, err := svc.Search(ctx, tc.f, 0, 50) // folds the seeded rows once
				if err != nil {
					b.Fatal(err)
				}
				if p.Total != tc.total || len(p.Subscribers) != min(50, tc.total) {
					b.Fatalf("total %d, %d rows; want %d", p.Total, len(p.Subscribers), tc.total)
				}
				b.ReportAllocs()
				cpu := dashboardtest.CPUTime()
				for b.Loop() {
					if _, err := svc.Search(ctx, tc.f, 0, 50); err != nil {
						b.Fatal(err)
					}
				}
				dashboardtest.ReportCPU(b, cpu)
			})
		}
	})
}

// BenchmarkDashboardLoad is the whole dashboard: counts, 52 weeks of
// growth, the latest five runs of two newsletters with their counts and
// unsubscribes, next runs and warnings.
func BenchmarkDashboardLoad(b *testing.B) {
	benchmarkBackends(b, func(b *testing.B, st benchStore) {
		ctx := context.Background()
		svc, err := dashboard.New(dashboard.Config{Store: st, BaseURL: "https://news.example.org", DKIM: true, Now: func() time.Time { return dashboardtest.Now },
			Newsletters: []digest.Newsletter{{ID: "monthly", Schedule: "0 9 1 * *", Location: time.UTC}, {ID: "weekly", Schedule: "0 9 * * 1", Location: time.UTC}}})
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.Snapshot(ctx); err != nil { // the back-fill, once
			b.Fatal(err)
		}
		d, err := svc.Load(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if d.Counts.Total() != 100000 || len(d.Newsletters[0].Runs) != 5 || d.Newsletters[0].Runs[0].Counts.Planned < 80000 || d.Growth[0].Counts.Total() == 0 {
			b.Fatalf("dashboard: %+v %+v", d.Counts, d.Newsletters[0].Runs[0])
		}
		b.ReportAllocs()
		cpu := dashboardtest.CPUTime()
		for b.Loop() {
			if _, err := svc.Load(ctx); err != nil {
				b.Fatal(err)
			}
		}
		dashboardtest.ReportCPU(b, cpu)
	})
}
