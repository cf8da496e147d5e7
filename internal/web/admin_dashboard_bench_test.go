package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/dashboard"
	"github.com/herald-news/herald/internal/dashboard/dashboardtest"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/internal/web/admintest"
	"github.com/herald-news/herald/templates"
)

// dashPageStore is what the dashboard page's benchmark serves from.
type dashPageStore interface {
	web.Store
	web.AdminStore
	dashboard.Store
	admintest.Store
}

// BenchmarkAdminDashboardPage is GET /admin/ for an owner, the whole
// handler (session check, dashboard.Service.Load, the chart, the
// template), over 100,000 subscribers and 1,000 runs (issue 13: under
// 50 ms server-side). Results: BENCHMARKS.md, "Admin dashboard page".
func BenchmarkAdminDashboardPage(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(b *testing.B) dashPageStore
	}{
		{"sqlite", func(b *testing.B) dashPageStore { return dashboardtest.SQLite(b) }},
		{"postgres", func(b *testing.B) dashPageStore { return dashboardtest.Postgres(b) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b)
			ctx := context.Background()
			svc, err := dashboard.New(dashboard.Config{Store: st, BaseURL: "https://news.example.org", DKIM: true, Now: func() time.Time { return dashboardtest.Now },
				Newsletters: []digest.Newsletter{{ID: "monthly", Schedule: "0 9 1 * *", Location: time.UTC}, {ID: "weekly", Schedule: "0 9 * * 1", Location: time.UTC}}})
			if err != nil {
				b.Fatal(err)
			}
			if err := svc.Snapshot(ctx); err != nil { // the back-fill, once per cached store
				b.Fatal(err)
			}
			const base = "https://news.example.org"
			h, err := web.New(web.Config{Site: web.Site{Title: "Bench", BaseURL: base, Language: "en", Location: time.UTC},
				Store: st, Templates: templates.FS(""), Admin: &web.AdminConfig{Store: st, Dashboard: svc}})
			if err != nil {
				b.Fatal(err)
			}
			// The seeded store is kept between runs: a new owner each time.
			_, c := admintest.Login(b, st, base, admintest.User{Role: store.RoleOwner, Email: fmt.Sprintf("bench-%d@example.org", time.Now().UnixNano())})
			req := httptest.NewRequest(http.MethodGet, "/admin/", nil)
			req.AddCookie(c)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<svg role="img"`) || !strings.Contains(rec.Body.String(), "Subscribers by status now (100") {
				b.Fatalf("status %d:\n%.2000s", rec.Code, rec.Body.String())
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			cpu := dashboardtest.CPUTime()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			dashboardtest.ReportCPU(b, cpu)
		})
	}
}
