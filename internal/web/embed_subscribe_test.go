package web_test

import (
	"context"
	"html"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

// TestSubscribeEmbedsCreatePending: the widget's subscribe form and the
// plain form snippet, on a partner page from another origin, each create a
// pending subscriber with the chosen newsletters and topics.
func TestSubscribeEmbedsCreatePending(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, a := range embedArticles() {
		if _, err := st.UpsertArticle(ctx, a, embedNow); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	nls := []subscribe.Newsletter{{ID: "monthly", Title: "Monthly", Default: true}, {ID: "wp4", Title: "WP4 news"}}
	svc, err := subscribe.New(subscribe.Config{
		BaseURL: base, SiteTitle: "Herald Test", Newsletters: nls, ConfirmTTL: 7 * 24 * time.Hour, ResendInterval: time.Hour,
		ConsentText: "I agree.", Templates: templates.Embedded(), Tokens: subscribe.NewTokens([][]byte{[]byte("test-key-0123456789abcdef")}),
		Store: st, Mailer: subscribetest.NewMailer(), Now: time.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	fh := newTestFeedHandler(t, st, base, []string{"*"}, "")
	h, err := web.New(web.Config{
		Site: web.Site{Title: "Herald Test", BaseURL: base, Language: "en"}, Store: st, Feeds: feedRoutes{fh},
		Templates: templates.Embedded(), Now: func() time.Time { return embedNow },
		Subscribe: &web.SubscribeConfig{Service: svc, AllowedOrigins: []string{"*"}},
		Embed:     web.EmbedConfig{AllowedOrigins: []string{"*"}, Newsletters: []web.EmbedNewsletter{{ID: "monthly", Title: "Monthly", Default: true}, {ID: "wp4", Title: "WP4 news"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	p := newPartner(t)
	bctx := browsertest.New(t, browsertest.Options{})

	pending := func(t *testing.T, email, newsletters, tags, language string) {
		t.Helper()
		var sub *subscribe.Subscriber
		for range 50 {
			if sub, err = st.SubscriberByEmail(ctx, email); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if sub == nil {
			t.Fatalf("no subscriber %s: %v", email, err)
		}
		if sub.Status != subscribe.StatusPending || strings.Join(sub.Newsletters, ",") != newsletters || strings.Join(sub.Tags, ",") != tags || sub.Language != language {
			t.Errorf("subscriber %s: status %s, newsletters %v, tags %v, language %q", email, sub.Status, sub.Newsletters, sub.Tags, sub.Language)
		}
	}

	t.Run("Widget", func(t *testing.T) {
		navigate(t, bctx, p.page("/sub", "", widget(base, `data-tags="wp4" data-limit="1" data-subscribe="on" data-newsletters="wp4"`), ""))
		widgetState(t, bctx)
		evalJS[bool](t, bctx, `(() => { const r = document.querySelector("#w").shadowRoot; r.querySelector("input[type=email]").value = "ada@partner.example"; r.querySelector("form").requestSubmit(); return true })()`)
		msg, err := chromedp.Run(bctx, chromedp.Poll[string](`(() => { const t = document.querySelector("#w").shadowRoot.querySelector(".msg").textContent; return t && t !== "…" ? t : null })()`))
		if err != nil || !strings.Contains(msg, "confirm") {
			t.Errorf("message %q (%v)", msg, err)
		}
		pending(t, "ada@partner.example", "wp4", "wp4", "en")
	})

	t.Run("PlainForm", func(t *testing.T) {
		// A Swedish partner page: the snippet's words, the subscriber's
		// stored language and the answer page are Swedish, whatever the
		// browser asks for.
		_, page := get(t, base+"/embed?tags=wp4&lang=sv")
		m := regexp.MustCompile(`(?s)<textarea id="snippet-form"[^>]*>(.*?)</textarea>`).FindSubmatch(page)
		if m == nil {
			t.Fatal("no form snippet")
		}
		navigate(t, bctx, p.page("/form", "", html.UnescapeString(string(m[1])), ""))
		if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS("#herald-email"), "grace@partner.example"),
			chromedp.Click(chromedp.CSS(`input[value=wp4]`)), chromedp.Click(chromedp.CSS("button[type=submit]"))); err != nil {
			t.Fatal(err)
		}
		pending(t, "grace@partner.example", "monthly,wp4", "wp4", "sv")
		var title string
		for range 5 {
			// The poll may start before the answer's page has replaced the
			// form: a context destroyed by that navigation is retried.
			if title, err = chromedp.Run(bctx, chromedp.Poll[string](`location.href === "`+base+`/subscribe" && document.title`)); err == nil ||
				!strings.Contains(err.Error(), "Cannot find context") {
				break
			}
		}
		if err != nil || !strings.HasPrefix(title, "Titta i din inkorg") {
			t.Errorf("landed on %q (%v)", title, err)
		}
	})
}
