package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/dashboard/dashboardtest"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/internal/web/admintest"
	"github.com/herald-news/herald/templates"
)

// BenchmarkAdminSubscriberPage is the whole subscriber pages' handler,
// server-side (session and role check, search with its total or one
// subscriber with every delivery, template): the list filtered as the
// search benchmarks filter, and one subscriber's page, over the dash
// seed's 100,000 subscribers. Results: BENCHMARKS.md, "Admin subscriber
// page".
func BenchmarkAdminSubscriberPage(b *testing.B) {
	benchmarkBackends(b, func(b *testing.B, st benchStore) {
		svc := benchSubscribe(b, st)
		as := st.(web.AdminStore)
		const base = "https://news.example.org"
		h, err := web.New(web.Config{Site: web.Site{Title: "Bench", BaseURL: base, Language: "en", Location: time.UTC},
			Store: st.(web.Store), Templates: templates.FS(""), Admin: &web.AdminConfig{Store: as, Subscribers: svc}})
		if err != nil {
			b.Fatal(err)
		}
		// The seeded store is kept between runs: a fresh user each run.
		_, cookie := admintest.Login(b, as, base, admintest.User{Role: store.RoleManager,
			Email: fmt.Sprintf("bench-%d@example.org", time.Now().UnixNano())})
		for _, tc := range []struct{ name, path, want string }{
			{"substring", "/admin/subscribers?q=STR%C3%96M+4", "<strong>222</strong>"},
			{"status", "/admin/subscribers?status=unsubscribed", "<strong>10000</strong>"},
			{"topic", "/admin/subscribers?tag=wp4&newsletter=monthly", "<strong>12856</strong>"},
			{"subscriber", "/admin/subscribers/user1000@example.org", "user1000@example.org"},
		} {
			b.Run(tc.name, func(b *testing.B) {
				get := func() *httptest.ResponseRecorder {
					req := httptest.NewRequest(http.MethodGet, tc.path, nil)
					req.AddCookie(cookie)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					return rec
				}
				if rec := get(); rec.Code != 200 || !strings.Contains(rec.Body.String(), tc.want) {
					b.Fatalf("status %d, want %q in:\n%s", rec.Code, tc.want, rec.Body)
				}
				b.ReportAllocs()
				cpu := dashboardtest.CPUTime()
				for b.Loop() {
					if rec := get(); rec.Code != 200 {
						b.Fatalf("status %d", rec.Code)
					}
				}
				dashboardtest.ReportCPU(b, cpu)
			})
		}
	})
}

// benchSubscribe is the subscribe service over the seeded store, with the
// seed's two newsletters and clock.
func benchSubscribe(b *testing.B, st benchStore) *subscribe.Service {
	b.Helper()
	key, err := st.TokenKey(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	svc, err := subscribe.New(subscribe.Config{BaseURL: "https://news.example.org", Templates: templates.Embedded(),
		Newsletters: []subscribe.Newsletter{{ID: "monthly", Default: true}, {ID: "weekly", Tags: []string{"wp4"}}},
		Tokens:      subscribe.NewTokens([][]byte{key}), Store: st, Mailer: subscribetest.NewMailer(), Now: func() time.Time { return dashboardtest.Now }})
	if err != nil {
		b.Fatal(err)
	}
	return svc
}
