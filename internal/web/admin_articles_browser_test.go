package web_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/internal/web/admintest"
)

// TestAdminEditorBrowser: in chromium, an editor writes an article with
// an uploaded JPEG and tags, sees the live preview, publishes it and finds
// it on /feed.atom and on its page with the derivative image; schedules
// one (not on the feed until due); edits and restores a revision; opens
// the media page; gets 403 on user management; logs out. Every page
// passes axe-core with no CSP violation.
func TestAdminEditorBrowser(t *testing.T) {
	f := newEditorFixture(t, 0)
	_, c := admintest.Login(t, f.store, f.srv.URL, admintest.User{At: f.clock.Now(), Name: "Ed", Email: "ed@example.org"})
	ctx := browsertest.New(t, browsertest.Options{})
	if err := browsertest.WatchCSP(ctx); err != nil {
		t.Fatal(err)
	}
	admintest.Browser(t, ctx, f.srv.URL, c)
	pic := filepath.Join(t.TempDir(), "harbour.jpg")
	if err := os.WriteFile(pic, testJPEG(t, 1600, 900), 0o644); err != nil {
		t.Fatal(err)
	}

	navigate(t, ctx, f.srv.URL+"/admin/articles")
	adminPageCheck(t, ctx, "empty list")
	click(t, ctx, `a[href="/admin/articles/new"]`)
	waitPath(t, ctx, "/admin/articles/new")
	adminPageCheck(t, ctx, "new article")

	// A missing alt text: the error next to the field, the rest kept.
	fill(t, ctx, "#title", "Harbour reopens")
	fill(t, ctx, "#tags", "Harbour, Town news")
	fill(t, ctx, "#body", "The *harbour* opens again on Monday.")
	waitFor(t, ctx, `document.querySelector("#preview em")?.textContent === "harbour"`) // the live preview
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(`#image_upload`, []string{pic})); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, `button[value=publish]`)
	waitFor(t, ctx, `document.querySelector("#image_alt-error") !== null`)
	adminPageCheck(t, ctx, "form with errors")
	if v := evalJS[string](t, ctx, `document.querySelector("#body").value + "|" + document.querySelector("#image").value`); !strings.HasPrefix(v, "The *harbour* opens again on Monday.|/media/u/") {
		t.Fatalf("after the error the form holds %q", v)
	}
	fill(t, ctx, "#image_alt", "Boats in the harbour")
	click(t, ctx, `button[value=preview]`) // the server's Preview, as without JavaScript
	waitFor(t, ctx, `document.querySelector("#preview em")?.textContent === "harbour" && document.querySelector(".error-summary") === null`)
	click(t, ctx, `button[value=publish]`)
	waitPath(t, ctx, "/admin/articles/harbour-reopens")
	adminPageCheck(t, ctx, "published article")

	// On the feed (serve's store watcher refreshes it) and on its page.
	f.refresh(t)
	if feed := getBody(t, f.srv.URL+"/feed.atom"); !strings.Contains(feed, "Harbour reopens") || !strings.Contains(feed, "-1200.jpg") {
		t.Fatalf("feed lacks the article or its image:\n%s", feed)
	}
	navigate(t, ctx, f.srv.URL+"/articles/harbour-reopens")
	waitFor(t, ctx, `document.querySelector("figure img")?.complete`)
	if src := evalJS[string](t, ctx, `(() => { const i = document.querySelector("figure img"); return i.naturalWidth + " " + i.getAttribute("src") })()`); !strings.HasPrefix(src, "1200 /media/u/") || !strings.HasSuffix(src, "-1200.jpg") {
		t.Fatalf("article page image: %s", src)
	}

	// Scheduled: not on the feed until due.
	navigate(t, ctx, f.srv.URL+"/admin/articles/new")
	waitPath(t, ctx, "/admin/articles/new")
	fill(t, ctx, "#title", "Christmas market")
	evalJS[string](t, ctx, `document.querySelector("#date").value = "2026-12-24T09:00:00Z"`)
	fill(t, ctx, "#body", "Stalls from nine.")
	click(t, ctx, `button[value=schedule]`)
	waitPath(t, ctx, "/admin/articles/christmas-market")
	if st := evalJS[string](t, ctx, `document.querySelector(".status").textContent`); st != "scheduled" {
		t.Fatalf("status %q", st)
	}
	f.refresh(t)
	if feed := getBody(t, f.srv.URL+"/feed.atom"); strings.Contains(feed, "Christmas market") {
		t.Fatal("a scheduled article is on the feed")
	}

	// Edit, then restore the first revision.
	navigate(t, ctx, f.srv.URL+"/admin/articles/harbour-reopens")
	waitPath(t, ctx, "/admin/articles/harbour-reopens")
	evalJS[string](t, ctx, `document.querySelector("#body").value = "Changed my mind."`)
	click(t, ctx, `button[value=save]`)
	waitFor(t, ctx, `document.querySelector(".flash") !== null && document.querySelector("#body").value === "Changed my mind."`)
	click(t, ctx, `tbody tr:last-child a`)
	waitFor(t, ctx, `document.querySelector("pre.body-source")?.textContent === "The *harbour* opens again on Monday."`)
	adminPageCheck(t, ctx, "revision")
	click(t, ctx, `main form button[type=submit]`)
	waitPath(t, ctx, "/admin/articles/harbour-reopens")
	if v := evalJS[string](t, ctx, `document.querySelector("#body").value`); v != "The *harbour* opens again on Monday." {
		t.Fatalf("restored body %q", v)
	}

	navigate(t, ctx, f.srv.URL+"/admin/articles")
	waitFor(t, ctx, `document.querySelectorAll("tbody tr").length === 2`)
	adminPageCheck(t, ctx, "list")
	navigate(t, ctx, f.srv.URL+"/admin/media")
	waitFor(t, ctx, `document.querySelector("img.thumb")?.naturalWidth === 600`)
	adminPageCheck(t, ctx, "media")

	navigate(t, ctx, f.srv.URL+"/admin/users")
	if got := h1(t, ctx); got != "Forbidden" {
		t.Fatalf("editor on /admin/users: h1 %q", got)
	}
	click(t, ctx, `form.logout button`)
	waitPath(t, ctx, "/admin/login")
}

// getBody is a page or feed as a plain client sees it.
func getBody(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
