package feed

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
)

var atomUpdated = regexp.MustCompile(`(?s)^.*?<updated>([^<]+)</updated>`)

// TestLastModifiedBackdated: a back-dated article moves Last-Modified of
// the feeds that list it (site, its tags, on-demand variants of them), so
// a client sending only If-Modified-Since gets it; Atom <updated> follows;
// feeds it is not in keep theirs; a restart keeps them all.
func TestLastModifiedBackdated(t *testing.T) {
	fx := newFixture(t, Options{})
	ctx := context.Background()
	for _, a := range numbered(6) { // published in the hour before fixedNow
		storeArticle(t, fx.store, a)
	}
	fx.refresh()
	paths := []string{"/feed.atom", "/tags/odd/feed.atom", "/feed.atom?tags=odd", "/feed.atom?limit=3", "/tags/even/feed.atom"}
	before := map[string]string{}
	for _, p := range paths {
		resp, _ := fx.get(p)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		before[p] = resp.Header.Get("Last-Modified")
	}

	// An hour later, an article dated two days back arrives, tagged odd.
	fx.mu.Lock()
	fx.now = fixedNow().Add(time.Hour)
	fx.mu.Unlock()
	old := fixedNow().Add(-48 * time.Hour)
	late := article.Article{Slug: "late-report", Title: "Late report", Summary: "S", BodyHTML: "<p>Late</p>",
		Published: old, Updated: old, Source: article.SourceAPI, ContentHash: "late",
		Tags: []article.Tag{{Name: "News", Slug: "news"}, {Name: "Odd", Slug: "odd"}}}
	if _, err := fx.store.UpsertArticle(ctx, &late, fx.clock()); err != nil {
		t.Fatal(err)
	}
	fx.refresh()

	after := map[string]string{}
	for _, p := range paths {
		resp, body := fx.get(p, "If-Modified-Since: "+before[p])
		after[p] = resp.Header.Get("Last-Modified")
		lists := p != "/tags/even/feed.atom" && p != "/feed.atom?limit=3"
		t.Run(strings.NewReplacer("/", "_", "?", "_").Replace(p), func(t *testing.T) {
			if !lists {
				if p == "/tags/even/feed.atom" && (resp.StatusCode != http.StatusNotModified || after[p] != before[p]) {
					t.Errorf("a feed the article is not in: %d, Last-Modified %q → %q; want 304, unchanged", resp.StatusCode, before[p], after[p])
				}
				return
			}
			if resp.StatusCode != 200 || !strings.Contains(string(body), "Late report") {
				t.Fatalf("If-Modified-Since the previous Last-Modified: %d, want 200 with the back-dated article", resp.StatusCode)
			}
			if want := fx.clock().UTC().Format(http.TimeFormat); after[p] != want {
				t.Errorf("Last-Modified = %q, want the time of the change %q", after[p], want)
			}
			m := atomUpdated.FindSubmatch(body)
			if m == nil {
				t.Fatal("no <updated>")
			}
			if u, _ := time.Parse(time.RFC3339, string(m[1])); !u.Equal(fx.clock()) {
				t.Errorf("<updated> = %s, want %s like Last-Modified", m[1], fx.clock().Format(time.RFC3339))
			}
		})
	}
	// ?limit=3 lists the site feed's newest three, not the late article,
	// but follows the site feed's change time: never earlier than a change.
	if after["/feed.atom?limit=3"] != after["/feed.atom"] {
		t.Errorf("on-demand ?limit=3: Last-Modified %q, want the site feed's %q", after["/feed.atom?limit=3"], after["/feed.atom"])
	}

	t.Run("RestartKeeps", func(t *testing.T) {
		site := testSite()
		site.BaseURL = fx.srv.URL
		h := NewHandler(fx.store, site, Options{Now: func() time.Time { return fixedNow().Add(3 * time.Hour) }})
		if _, err := h.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/feed.atom", "/tags/odd/feed.atom", "/tags/even/feed.atom"} {
			rec := &headerRecorder{h: http.Header{}}
			req, _ := http.NewRequest(http.MethodGet, p, nil)
			if strings.HasPrefix(p, "/tags/") {
				req.SetPathValue("slug", strings.Split(p, "/")[2])
				h.Tag(Atom).ServeHTTP(rec, req)
			} else {
				h.Site(Atom).ServeHTTP(rec, req)
			}
			if got := rec.h.Get("Last-Modified"); got != after[p] {
				t.Errorf("%s after a restart: Last-Modified %q, want %q", p, got, after[p])
			}
		}
	})
}

// TestLastModifiedScheduled: a future-dated article moves Last-Modified
// when it appears, not when it was written.
func TestLastModifiedScheduled(t *testing.T) {
	fx := newFixture(t, Options{})
	for _, a := range numbered(2) {
		storeArticle(t, fx.store, a)
	}
	at := fixedNow().Add(30 * time.Minute)
	storeArticle(t, fx.store, article.Article{Slug: "embargoed", Title: "Embargoed", Summary: "S", BodyHTML: "<p>E</p>",
		Published: at, Updated: at})
	fx.refresh()
	resp, _ := fx.get("/feed.atom")
	lm := resp.Header.Get("Last-Modified")
	if want := fixedNow().UTC().Format(http.TimeFormat); lm != want {
		t.Errorf("before: Last-Modified %q, want %q", lm, want)
	}
	fx.mu.Lock()
	fx.now = at.Add(time.Minute)
	fx.mu.Unlock()
	fx.refresh()
	resp, body := fx.get("/feed.atom", "If-Modified-Since: "+lm)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Embargoed") {
		t.Fatalf("%d: want 200 with the article now out", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Last-Modified"), at.UTC().Format(http.TimeFormat); got != want {
		t.Errorf("Last-Modified = %q, want its publication %q", got, want)
	}
}

type headerRecorder struct {
	h    http.Header
	code int
}

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(p []byte) (int, error) { return len(p), nil }
func (r *headerRecorder) WriteHeader(code int)        { r.code = code }
