package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/internal/web/admintest"
)

// adminPageCheck fails t for any serious axe-core finding or CSP
// violation on the page now shown.
func adminPageCheck(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browsertest.Axe(t, ctx, name)
	v, err := browsertest.CSPViolations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) > 0 {
		t.Errorf("%s: CSP violations: %s", name, strings.Join(v, "; "))
	}
}

// TestAdminBrowserSignedIn: the test helper's cookie opens the admin in
// chromium; the pages pass axe-core and keep the CSP.
func TestAdminBrowserSignedIn(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{})
	ctx := browsertest.New(t, browsertest.Options{})
	if err := browsertest.WatchCSP(ctx); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, f.srv.URL+"/admin/login")
	adminPageCheck(t, ctx, "login")
	_, c := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: store.RoleOwner, At: f.clock.Now()})
	admintest.Browser(t, ctx, f.srv.URL, c)
	for _, p := range []struct{ path, h1 string }{{"/admin/", "Dashboard"}, {"/admin/users", "Users"}} {
		navigate(t, ctx, f.srv.URL+p.path)
		if h1 := evalJS[string](t, ctx, `document.querySelector("h1").textContent`); h1 != p.h1 {
			t.Fatalf("%s: h1 %q, want %q", p.path, h1, p.h1)
		}
		adminPageCheck(t, ctx, p.path)
	}
	// Log out with the navigation's button.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.logout button`))); err != nil {
		t.Fatal(err)
	}
	waitPath(t, ctx, "/admin/login")
	if flash := evalJS[string](t, ctx, `document.querySelector(".flash")?.textContent || ""`); !strings.Contains(flash, "signed out") {
		t.Errorf("flash after logout %q", flash)
	}
}

// waitPath waits until the browser shows path (with its query), loaded.
// It asks again while a navigation replaces the page under the question.
func waitPath(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	js := `location.pathname + location.search === ` + strconv.Quote(path) + ` && document.readyState === "complete"`
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		last, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	}
	t.Fatalf("browser at %q, want %q", last, path)
}
