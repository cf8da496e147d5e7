package web_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
)

// TestAPISlugFromTitle: an article sent without a slug (it has no file
// name) takes one made once from its title by the tag-slug rule, -2, -3
// on a collision, chosen race-free by the store; a slug sent and taken
// stays 409; the slug never changes after.
func TestAPISlugFromTitle(t *testing.T) {
	f := newAPIFixture(t, defaultTokens()...)
	p := article.NewParser(time.UTC, os.DirFS(f.dir))
	fileArt, err := p.Parse("2026-10-01-port-news.md", []byte("---\ntitle: Port news\ndate: 2026-10-01\n---\nFile body.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpsertArticle(context.Background(), fileArt, now); err != nil {
		t.Fatal(err)
	}
	post := func(t *testing.T, body string) (int, string) {
		t.Helper()
		r := f.do(t, "POST", "/api/v1/articles", body)
		if r.Status != 201 {
			return r.Status, ""
		}
		slug, _ := r.json(t)["slug"].(string)
		if loc := r.Header.Get("Location"); loc != "/api/v1/articles/"+slug {
			t.Errorf("Location %q for slug %q", loc, slug)
		}
		return r.Status, slug
	}
	noSlug := func(title string) string {
		return `{"title":` + quote(title) + `,"date":"2026-11-20T10:00:00+01:00","body":"Body."}`
	}

	t.Run("OKDerived", func(t *testing.T) {
		if code, slug := post(t, noSlug("Shore power pilot starts in Ærøskøbing")); code != 201 || slug != "shore-power-pilot-starts-in-aeroskobing" {
			t.Fatalf("%d %q", code, slug)
		}
	})
	t.Run("OKSuffixed", func(t *testing.T) {
		if code, slug := post(t, noSlug("Shore power pilot starts in Ærøskøbing")); code != 201 || slug != "shore-power-pilot-starts-in-aeroskobing-2" {
			t.Fatalf("%d %q", code, slug)
		}
		if code, slug := post(t, noSlug("Shore Power: pilot starts in Ærøskøbing!")); code != 201 || slug != "shore-power-pilot-starts-in-aeroskobing-3" {
			t.Fatalf("%d %q", code, slug)
		}
	})
	t.Run("OKSuffixedOverFile", func(t *testing.T) {
		if code, slug := post(t, noSlug("Port news")); code != 201 || slug != "port-news-2" {
			t.Fatalf("%d %q", code, slug)
		}
	})
	t.Run("ErrConflictExplicitTaken", func(t *testing.T) {
		r := f.do(t, "POST", "/api/v1/articles", articleJSON("shore-power-pilot-starts-in-aeroskobing", "Another"))
		if e := r.errorOf(t); r.Status != 409 || e["field"] != "slug" {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		r = f.do(t, "POST", "/api/v1/articles", articleJSON("port-news", "Another"))
		if r.Status != 409 {
			t.Fatalf("explicit slug of a file: status %d: %s", r.Status, r.Body)
		}
	})
	t.Run("OKSlugNeverChanges", func(t *testing.T) {
		const path = "/api/v1/articles/shore-power-pilot-starts-in-aeroskobing-2"
		r := f.do(t, "PATCH", path, `{"title":"Renamed entirely"}`)
		if m := r.json(t); r.Status != 200 || m["slug"] != "shore-power-pilot-starts-in-aeroskobing-2" || m["title"] != "Renamed entirely" {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		// A PUT of what is stored changes nothing, though the slug the
		// store chose differs from the one made from the title.
		before := f.do(t, "GET", path, "").json(t)
		r = f.do(t, "PUT", path, `{"title":"Renamed entirely","date":"2026-11-20T10:00:00+01:00","body":"Body."}`)
		if m := r.json(t); r.Status != 200 || m["updated"] != before["updated"] {
			t.Errorf("unchanged PUT: status %d, updated %v → %v", r.Status, before["updated"], m["updated"])
		}
	})
	t.Run("OKConcurrentDistinct", func(t *testing.T) {
		const n = 8
		var wg sync.WaitGroup
		codes := make([]int, n)
		got := make([]string, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				codes[i], got[i] = post(t, noSlug("Weekly update"))
			}()
		}
		close(start)
		wg.Wait()
		want := []string{"weekly-update"}
		for i := 2; i <= n; i++ {
			want = append(want, fmt.Sprintf("weekly-update-%d", i))
		}
		sort.Strings(want)
		sort.Strings(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("codes %v, slugs %v, want %v", codes, got, want)
		}
	})
}
