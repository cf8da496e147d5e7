package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/admin"
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

// waitFor waits until js is true on a loaded page.
func waitFor(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && (`+js+`)`))
		if err == nil && ok {
			return
		}
	}
	t.Fatalf("waited in vain for %s", js)
}

// fill types v into the field sel.
func fill(t *testing.T, ctx context.Context, sel, v string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), v)); err != nil {
		t.Fatalf("type into %s: %v", sel, err)
	}
}

func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

func h1(t *testing.T, ctx context.Context) string {
	t.Helper()
	return evalJS[string](t, ctx, `document.querySelector("h1").textContent`)
}

// TestAdminBrowser: in chromium, from the CLI's setup link to a password,
// enrolling TOTP, signing in with a code, the owner pages, logout, an
// expired session and an editor's 403; each page passes axe-core and
// reports no CSP violation.
func TestAdminBrowser(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{SessionIdle: 12 * time.Hour, SessionMax: 7 * 24 * time.Hour})
	token, err := admin.AddUser(context.Background(), f.store, admin.CLI, "ann@example.org", "Ann", store.RoleOwner, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t, browsertest.Options{})
	if err := browsertest.WatchCSP(ctx); err != nil {
		t.Fatal(err)
	}

	navigate(t, ctx, admin.SetupURL(f.srv.URL, token))
	adminPageCheck(t, ctx, "setup")
	fill(t, ctx, "#password", "short")
	fill(t, ctx, "#password_confirm", "short")
	click(t, ctx, `main button[type=submit]`)
	waitPath(t, ctx, "/admin/setup")
	if !strings.Contains(evalJS[string](t, ctx, `document.querySelector(".error-summary").textContent`), "at least 12") {
		t.Fatal("no error summary for a short password")
	}
	adminPageCheck(t, ctx, "setup with errors")
	fill(t, ctx, "#password", testPassword)
	fill(t, ctx, "#password_confirm", testPassword)
	click(t, ctx, `main button[type=submit]`)
	waitPath(t, ctx, "/admin/")
	if got := h1(t, ctx); got != "Dashboard" {
		t.Fatalf("after setup: h1 %q", got)
	}
	adminPageCheck(t, ctx, "dashboard")

	navigate(t, ctx, f.srv.URL+"/admin/account")
	adminPageCheck(t, ctx, "account")
	click(t, ctx, `a[href="/admin/account/2fa"]`)
	waitPath(t, ctx, "/admin/account/2fa")
	adminPageCheck(t, ctx, "enrol")
	if ok := evalJS[bool](t, ctx, `document.querySelector("img.qr").naturalWidth > 0`); !ok {
		t.Error("the QR code did not load")
	}
	secret := evalJS[string](t, ctx, `document.querySelector("#totp-secret").textContent`)
	code, _ := admin.TOTPCode(secret, f.clock.Now())
	fill(t, ctx, "#code", code)
	click(t, ctx, `main button[type=submit]`)
	waitFor(t, ctx, `document.querySelectorAll("ul.codes li").length === 10`)
	adminPageCheck(t, ctx, "recovery codes")

	click(t, ctx, `form.logout button`)
	waitPath(t, ctx, "/admin/login")
	adminPageCheck(t, ctx, "login")
	fill(t, ctx, "#email", "ann@example.org")
	fill(t, ctx, "#password", testPassword)
	click(t, ctx, `main button[type=submit]`)
	waitPath(t, ctx, "/admin/login/code?next=%2Fadmin%2F")
	adminPageCheck(t, ctx, "code")
	f.clock.Add(30 * time.Second) // the enrolment's code is spent
	code, _ = admin.TOTPCode(secret, f.clock.Now())
	fill(t, ctx, "#code", code)
	click(t, ctx, `main button[type=submit]`)
	waitPath(t, ctx, "/admin/")

	for _, p := range []struct{ path, h1 string }{{"/admin/users", "Users"}, {"/admin/audit", "Audit log"}} {
		navigate(t, ctx, f.srv.URL+p.path)
		if got := h1(t, ctx); got != p.h1 {
			t.Fatalf("%s: h1 %q", p.path, got)
		}
		adminPageCheck(t, ctx, p.path)
	}

	// Unused for longer than session_idle: back to the login page.
	f.clock.Add(13 * time.Hour)
	navigate(t, ctx, f.srv.URL+"/admin/audit")
	waitPath(t, ctx, "/admin/login?next=%2Fadmin%2Faudit")
	if flash := evalJS[string](t, ctx, `document.querySelector(".flash")?.textContent || ""`); !strings.Contains(flash, "session has ended") {
		t.Errorf("flash %q", flash)
	}

	// An editor opening user management.
	_, c := admintest.Login(t, f.store, f.srv.URL, admintest.User{At: f.clock.Now()})
	admintest.Browser(t, ctx, f.srv.URL, c)
	navigate(t, ctx, f.srv.URL+"/admin/users")
	if got := h1(t, ctx); got != "Forbidden" {
		t.Fatalf("editor on /admin/users: h1 %q", got)
	}
	adminPageCheck(t, ctx, "403")
}
