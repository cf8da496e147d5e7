package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/browsertest"
)

// The checks themselves must see what they claim to: a page with an
// unlabelled field and an image without alt text under a strict CSP that
// blocks an inline script. Each finding must be reported, and a clean
// page must report none.
func TestAxeAndCSP(t *testing.T) {
	pages := map[string]string{
		"/bad": `<!doctype html><html><head><title>Bad</title></head><body><main>
<img src="/x.png"><form><input type="text" name="q"></form>
<script>document.title = "ran"</script></main></body></html>`,
		"/good": `<!doctype html><html lang="en"><head><title>Good</title></head><body><main>
<h1>Good</h1><img src="/x.png" alt="A harbour"><form><label for="q">Search</label><input id="q" type="text" name="q"></form>
</main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(body))
	}))
	defer srv.Close()
	ctx := browsertest.New(t, browsertest.Options{})
	if err := browsertest.WatchCSP(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("Bad", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/bad")); err != nil {
			t.Fatal(err)
		}
		vs, err := browsertest.RunAxe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, v := range vs {
			found[v.ID] = true
		}
		for _, id := range []string{"image-alt", "label"} {
			if !found[id] {
				t.Errorf("axe did not report %s; got %v", id, vs)
			}
		}
		csp, err := browsertest.CSPViolations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(csp) == 0 || !strings.Contains(strings.Join(csp, " "), "script-src") {
			t.Errorf("the inline script's CSP violation was not recorded: %q", csp)
		}
	})
	t.Run("Good", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/good")); err != nil {
			t.Fatal(err)
		}
		browsertest.Axe(t, ctx, "good")
		csp, err := browsertest.CSPViolations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(csp) != 0 {
			t.Errorf("CSP violations on a clean page: %q", csp)
		}
	})
}
