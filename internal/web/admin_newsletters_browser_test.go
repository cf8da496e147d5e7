package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/web/admintest"
)

// clickTo clicks the element sel and, when path is not "", waits for the
// page there.
func clickTo(t *testing.T, ctx context.Context, sel, path string) {
	t.Helper()
	// A click through the DOM: the element need not be scrolled into view.
	js := `(() => { const e = document.querySelector(` + jsString(sel) + `); if (!e) return false; e.click(); return true })()`
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil || !ok {
		t.Fatalf("click %s: %v (found: %v)", sel, err, ok)
	}
	if path != "" {
		waitPath(t, ctx, path)
	}
}

// waitJS waits until the expression is true in the page, asking again
// while a navigation replaces the page under the question.
func waitJS(t *testing.T, ctx context.Context, js string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
	}
	page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#run-progress")?.innerText || document.body.innerText`))
	t.Fatalf("waiting for %s; page:\n%s", js, page)
}

// TestAdminNewslettersBrowser, in chromium with the real store and SMTP
// server: preview a digest as a topic subscriber; send a test to oneself
// and find it at the SMTP server; send now to 200 subscribers and watch
// the run page reach done without a reload; pause and resume a run held
// mid-way by the SMTP server. Every page passes axe-core and keeps the CSP.
func TestAdminNewslettersBrowser(t *testing.T) {
	f := newNewsletterFixture(t, 200)
	ctx := browsertest.New(t, browsertest.Options{Timeout: 120 * time.Second})
	if err := browsertest.WatchCSP(ctx); err != nil {
		t.Fatal(err)
	}
	_, c := admintest.Login(t, f.st, f.srv.URL, admintest.User{Role: store.RoleManager})
	admintest.Browser(t, ctx, f.srv.URL, c)

	navigate(t, ctx, f.srv.URL+"/admin/newsletters")
	adminPageCheck(t, ctx, "newsletters")
	clickTo(t, ctx, `a[href="/admin/newsletters/monthly"]`, "/admin/newsletters/monthly")
	adminPageCheck(t, ctx, "newsletter")

	// Preview as a subscriber of gardening only.
	clickTo(t, ctx, `#topic-gardening`, "")
	clickTo(t, ctx, `form.preview-choice button`, "/admin/newsletters/monthly?topic=gardening&as=")
	text := evalJS[string](t, ctx, `document.querySelector("pre.preview-text").textContent`)
	if !strings.Contains(text, "Allotment season begins") || strings.Contains(text, "Harbour workshop opens") {
		t.Errorf("gardening text preview:\n%s", text)
	}
	if src := evalJS[string](t, ctx, `document.querySelector("iframe.preview").getAttribute("src")`); !strings.Contains(src, "topic=gardening") {
		t.Errorf("iframe src %q", src)
	}
	adminPageCheck(t, ctx, "newsletter preview")

	// A test to me.
	clickTo(t, ctx, `form[action$="/test"] button`, "/admin/newsletters/monthly")
	if msgs := f.smtp.WaitMessages(1, 10*time.Second); len(msgs) != 1 || msgs[0].To[0] != "manager@example.org" ||
		!strings.Contains(string(msgs[0].Data), "X-Herald-Test: yes") {
		t.Fatalf("test message: %+v", msgs)
	}
	if flash := evalJS[string](t, ctx, `document.querySelector(".flash").textContent`); !strings.Contains(flash, "manager@example.org") {
		t.Errorf("flash %q", flash)
	}

	// Send now to 200, watched to done without a reload.
	clickTo(t, ctx, `a[href="/admin/newsletters/monthly/send"]`, "/admin/newsletters/monthly/send")
	if s := evalJS[string](t, ctx, `document.querySelector(".recipients").textContent`); s != "200 recipients" {
		t.Errorf("confirmation states %q", s)
	}
	adminPageCheck(t, ctx, "send confirmation")
	clickTo(t, ctx, `form[action$="/send"] button[type=submit]`, "")
	waitJS(t, ctx, `location.pathname.startsWith("/admin/runs/") && document.readyState === "complete"`, 10*time.Second)
	runPath := evalJS[string](t, ctx, `location.pathname`)
	evalJS[bool](t, ctx, `window.heraldNoReload = true`)
	waitJS(t, ctx, `document.querySelector('[data-field="status"]').textContent === "done" && document.getElementById("run-bar").value === 200`, 60*time.Second)
	if !evalJS[bool](t, ctx, `window.heraldNoReload === true`) {
		t.Error("the run page reloaded")
	}
	if sent := evalJS[string](t, ctx, `document.querySelector('[data-field="sent"]').textContent`); sent != "200" {
		t.Errorf("sent %s", sent)
	}
	adminPageCheck(t, ctx, "run done")
	if n := len(f.smtp.Messages()); n != 201 {
		t.Errorf("%d messages at the SMTP server, want 201", n)
	}

	// A second run, held at the SMTP server: pause, then resume.
	hold(f.gate)
	navigate(t, ctx, f.srv.URL+"/admin/newsletters/monthly/send")
	clickTo(t, ctx, `form[action$="/send"] button[type=submit]`, "")
	waitJS(t, ctx, `location.pathname.startsWith("/admin/runs/") && location.pathname !== `+jsString(runPath), 10*time.Second)
	runPath = evalJS[string](t, ctx, `location.pathname`)
	<-f.gate.seen
	waitJS(t, ctx, `!document.querySelector('li[data-when~="sending"] a[href$="/pause"]').closest("li").hidden`, 10*time.Second)
	clickTo(t, ctx, `a[href$="/pause"]`, runPath+"/pause")
	adminPageCheck(t, ctx, "pause confirmation")
	clickTo(t, ctx, `form[action$="/pause"] button`, runPath)
	f.gate.open()
	waitJS(t, ctx, `document.querySelector('[data-field="status"]').textContent === "paused"`, 10*time.Second)
	// Messages in hand finish; nothing new starts while paused.
	sentJS := `Number(document.querySelector('[data-field="sent"]').textContent)`
	time.Sleep(time.Second)
	before := evalJS[int](t, ctx, sentJS)
	time.Sleep(1500 * time.Millisecond)
	if after := evalJS[int](t, ctx, sentJS); after != before || after >= 200 {
		t.Errorf("paused run went on: sent %d, then %d", before, after)
	}
	adminPageCheck(t, ctx, "run paused")
	clickTo(t, ctx, `li:not([hidden]) a[href$="/resume"]`, runPath+"/resume")
	clickTo(t, ctx, `form[action$="/resume"] button`, runPath)
	evalJS[bool](t, ctx, `window.heraldNoReload = true`)
	waitJS(t, ctx, `document.querySelector('[data-field="status"]').textContent === "done"`, 60*time.Second)
	if !evalJS[bool](t, ctx, `window.heraldNoReload === true`) {
		t.Error("the run page reloaded")
	}
	// Nothing new is left for the gardening reader: skipped, not sent.
	if sent, skipped := evalJS[string](t, ctx, `document.querySelector('[data-field="sent"]').textContent`),
		evalJS[string](t, ctx, `document.querySelector('[data-field="skipped"]').textContent`); sent != "199" || skipped != "1" {
		t.Errorf("second run: %s", evalJS[string](t, ctx, `document.querySelector(".counts").innerText`))
	}
}

func jsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
