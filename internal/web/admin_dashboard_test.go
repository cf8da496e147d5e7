package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/admin"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/internal/dashboard"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/internal/web/admintest"
)

// lateDashboard is the dashboard service of a fixture's store, which
// exists only once the fixture does.
type lateDashboard struct{ svc *dashboard.Service }

func (l *lateDashboard) Load(ctx context.Context) (*dashboard.Dashboard, error) {
	return l.svc.Load(ctx)
}

// newDashboardFixture serves the admin UI with a real dashboard over a
// store holding subscribers joined across the year, their daily counts,
// a sent run and a failed one of the monthly newsletter.
func newDashboardFixture(t testing.TB) *adminFixture {
	t.Helper()
	ld := &lateDashboard{}
	f := newAdminFixture(t, "", web.AdminConfig{Dashboard: ld})
	ctx := context.Background()
	now := f.clock.Now()
	for i := range 30 {
		at := now.Add(-time.Duration(i*12) * 24 * time.Hour)
		if _, _, err := f.store.UpsertActive(ctx, fmt.Sprintf("s%d@example.org", i), subscribe.Choice{Newsletters: []string{"monthly"}}, at); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := dashboard.New(dashboard.Config{Store: f.store, BaseURL: "https://news.example.org", Now: f.clock.Now,
		Newsletters: []digest.Newsletter{{ID: "monthly", Title: "Monthly news", Schedule: "0 9 1 * *", Location: time.UTC}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Snapshot(ctx); err != nil { // the back-fill
		t.Fatal(err)
	}
	ld.svc = svc
	for i, fail := range []bool{false, true} {
		slot := now.Add(-time.Duration(20-10*i) * 24 * time.Hour)
		art := &article.Article{Slug: fmt.Sprintf("a%d", i), Title: "News", Published: slot.Add(-time.Hour), Source: article.SourceAPI, ContentHash: slot.String()}
		if _, err := f.store.UpsertArticle(ctx, art, slot); err != nil {
			t.Fatal(err)
		}
		req := digest.PlanRequest{Selection: digest.Selection{Newsletter: "monthly", SlotAt: slot, FirstWindow: 30 * 24 * time.Hour, MaxArticles: 10},
			Slot: "manual-" + slot.Format(time.RFC3339), Kind: digest.KindManual, Now: slot}
		run, err := f.store.PlanRun(ctx, req, func(*digest.Run, []article.Article) ([]digest.Variant, error) {
			if fail {
				return nil, errors.New("template broke")
			}
			return []digest.Variant{{Key: digest.VariantAll, Subject: "s", HTML: "<p>x</p>", Text: "x"}}, nil
		})
		if fail {
			continue // planned as failed
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.StartRun(ctx, run.ID, slot); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestAdminDashboard: owners and managers see the subscriber counts, the
// growth chart with its table, the runs linked to their pages and the
// warnings; editors the newsletters and warnings without subscriber
// numbers or links to deliveries.
func TestAdminDashboard(t *testing.T) {
	f := newDashboardFixture(t)
	for _, tc := range []struct {
		role      string
		want, not []string
	}{
		{store.RoleOwner, []string{`<svg role="img"`, `<title id="growth-svg-title">`, `id="growth-table"`, "Subscribers by status now (30 in all)",
			`<a href="/admin/runs/1">1</a>`, "Monthly news", `data-code="no_dkim"`, `data-code="run_failed"`, `<a href="/admin/runs/2">Open run 2</a>`,
			"Next scheduled run: <time datetime=\"2027-01-01T09:00:00Z\">"}, nil},
		{store.RoleManager, []string{`<svg role="img"`, `<a href="/admin/runs/1">1</a>`}, nil},
		{store.RoleEditor, []string{"Monthly news", `data-code="run_failed"`, "Latest runs of Monthly news"},
			[]string{"<svg", "growth-table", "Subscribers by status", "/admin/runs/", "/admin/subscribers"}},
	} {
		t.Run(tc.role, func(t *testing.T) {
			c, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: tc.role, At: f.clock.Now()})
			resp, body := do(t, c, http.MethodGet, f.srv.URL+"/admin/", nil)
			wantStatus(t, resp, body, http.StatusOK, "dashboard")
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("no %q in the page", w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("%q in the page", n)
				}
			}
			if tc.role == store.RoleOwner {
				if n := strings.Count(body, `<th scope="row">`); n != dashboard.Weeks+2 { // weeks, plus two runs
					t.Errorf("%d row headers, want %d", n, dashboard.Weeks+2)
				}
				if n := strings.Count(body, "<polyline"); n != 4 {
					t.Errorf("%d lines in the chart, want 4", n)
				}
			}
		})
	}
}

// TestAdminDashboardBrowser: the dashboard in chromium draws the chart
// and its table, passes axe-core and reports no CSP violation.
func TestAdminDashboardBrowser(t *testing.T) {
	f := newDashboardFixture(t)
	ctx := browsertest.New(t, browsertest.Options{})
	if err := browsertest.WatchCSP(ctx); err != nil {
		t.Fatal(err)
	}
	_, c := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: store.RoleOwner, At: f.clock.Now()})
	admintest.Browser(t, ctx, f.srv.URL, c)
	navigate(t, ctx, f.srv.URL+"/admin/")
	if got := h1(t, ctx); got != "Dashboard" {
		t.Fatalf("h1 %q", got)
	}
	// The lines are drawn (a non-empty box) and the table holds every week.
	if w := evalJS[float64](t, ctx, `document.querySelector("polyline.s-active").getBBox().width`); w < 100 {
		t.Errorf("active line %v wide", w)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll("#growth-table tbody tr").length`); n != dashboard.Weeks {
		t.Errorf("growth table: %d rows, want %d", n, dashboard.Weeks)
	}
	if got := evalJS[string](t, ctx, `document.querySelector("#growth-table tbody tr:last-child td").textContent`); got != "30" {
		t.Errorf("active in the last week %q, want 30", got)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll("table.runs tbody tr").length`); n != 2 {
		t.Errorf("%d runs, want 2", n)
	}
	adminPageCheck(t, ctx, "dashboard")
}

// TestAdminUsersLastLogin: the users page shows each user's last sign-in,
// "never" before the first.
func TestAdminUsersLastLogin(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{})
	ctx := context.Background()
	token, err := admin.AddUser(ctx, f.store, admin.CLI, "ann@example.org", "Ann", store.RoleOwner, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	resp, _ := do(t, b, http.MethodPost, f.srv.URL+"/admin/setup", url.Values{"token": {token}, "password": {testPassword}, "password_confirm": {testPassword}})
	wantRedirect(t, resp, "/admin/", "setup")
	resp, body := do(t, b, http.MethodGet, f.srv.URL+"/admin/users", nil)
	wantStatus(t, resp, body, http.StatusOK, "users")
	if !strings.Contains(body, "<td>never</td>") {
		t.Errorf("no \"never\" before the first sign-in:\n%s", body)
	}
	f.clock.Add(time.Hour)
	b = f.browser()
	resp, _ = do(t, b, http.MethodPost, f.srv.URL+"/admin/login", url.Values{"email": {"ann@example.org"}, "password": {testPassword}})
	wantRedirect(t, resp, "/admin/", "login")
	resp, body = do(t, b, http.MethodGet, f.srv.URL+"/admin/users", nil)
	wantStatus(t, resp, body, http.StatusOK, "users")
	if want := `<td><time datetime="2026-12-06T11:00:00Z">6 Dec 2026 11:00</time></td>`; !strings.Contains(body, want) {
		t.Errorf("no %s in:\n%s", want, body)
	}
}
