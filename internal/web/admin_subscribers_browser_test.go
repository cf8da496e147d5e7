package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/web/admintest"
)

// TestAdminSubscribersBrowser: in chromium, a manager imports a
// 1,000-row CSV with 3 bad rows (the dry run names them; confirming
// imports the rest), searches for and opens a subscriber, and erases
// one; every page passes axe-core with no CSP violation.
func TestAdminSubscribersBrowser(t *testing.T) {
	f := newSubsFixture(t)
	_, cookie := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: store.RoleManager})
	var csv strings.Builder
	csv.WriteString("email,name,newsletters\n")
	for i := 1; i <= 1000; i++ {
		switch i { // data row i is on line i+1
		case 101:
			csv.WriteString("not-an-address,Bad,monthly\n")
		case 501:
			csv.WriteString("short@example.org,Short\n")
		case 901:
			csv.WriteString("nl@example.org,Wrong,daily\n")
		default:
			fmt.Fprintf(&csv, "reader%04d@example.org,Reader %d,monthly\n", i, i)
		}
	}
	file := filepath.Join(t.TempDir(), "readers.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := browsertest.New(t, browsertest.Options{})
	if err := browsertest.WatchCSP(ctx); err != nil {
		t.Fatal(err)
	}
	admintest.Browser(t, ctx, f.srv.URL, cookie)

	navigate(t, ctx, f.srv.URL+"/admin/import")
	adminPageCheck(t, ctx, "import")
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file})); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, `main button[type=submit]`)
	waitFor(t, ctx, `document.querySelector("#plan-add") !== null`)
	if got := evalJS[string](t, ctx, `document.querySelector("#plan-add").textContent + "/" + document.querySelector("#plan-bad").textContent`); got != "997/3" {
		t.Fatalf("dry run: add/bad %s", got)
	}
	bad := evalJS[string](t, ctx, `[...document.querySelectorAll("#bad-rows tbody tr")].map(r => r.cells[0].textContent).join(",")`)
	if bad != "102,502,902" {
		t.Errorf("bad rows on lines %s, want 102,502,902", bad)
	}
	adminPageCheck(t, ctx, "import plan")
	if _, err := f.svc.Get(context.Background(), "reader0001@example.org"); err == nil {
		t.Fatal("the dry run wrote")
	}
	click(t, ctx, `form[action="/admin/import/apply"] button`)
	waitPath(t, ctx, "/admin/subscribers")
	if msg := evalJS[string](t, ctx, `document.querySelector(".flash").textContent`); !strings.Contains(msg, "997 added") {
		t.Errorf("flash %q", msg)
	}
	adminPageCheck(t, ctx, "subscribers")

	fill(t, ctx, "#q", "READER 500")
	click(t, ctx, `form.filters button[type=submit]`)
	waitPath(t, ctx, "/admin/subscribers?q=READER+500&status=&newsletter=&tag=")
	if got := evalJS[string](t, ctx, `document.querySelector("#total strong").textContent`); got != "1" {
		t.Fatalf("search total %s", got)
	}
	click(t, ctx, `a[href="/admin/subscribers/reader0500@example.org"]`)
	waitPath(t, ctx, "/admin/subscribers/reader0500@example.org")
	adminPageCheck(t, ctx, "subscriber")

	click(t, ctx, `details.danger-zone summary`)
	fill(t, ctx, "#confirm", "reader0500@example.org")
	click(t, ctx, `details.danger-zone button`)
	waitPath(t, ctx, "/admin/subscribers")
	if _, err := f.svc.Get(context.Background(), "reader0500@example.org"); err == nil {
		t.Fatal("not erased")
	}
	if msg := evalJS[string](t, ctx, `document.querySelector(".flash").textContent`); !strings.Contains(msg, "Erased") {
		t.Errorf("flash %q", msg)
	}
}
