// Package storetest is the conformance suite every store backend passes:
// the SQLite store now, PostgreSQL later. A backend's test calls Run with
// a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
)

// ArticleStore is the part of a store the article suite exercises.
type ArticleStore interface {
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
	CreateArticle(ctx context.Context, a *article.Article, now time.Time) error
	CreateArticleFreeSlug(ctx context.Context, a *article.Article, now time.Time) error
	SetRemoved(ctx context.Context, slug string, removed bool) error
	DeleteArticle(ctx context.Context, slug string) error
	GetArticle(ctx context.Context, slug string) (*article.Article, error)
	ListArticles(ctx context.Context, q article.Query) ([]article.Article, error)
	CountArticles(ctx context.Context, q article.Query) (int, error)
	ListTags(ctx context.Context, now time.Time) ([]article.TagCount, error)
	GetTag(ctx context.Context, slug string) (article.Tag, error)
	FileArticles(ctx context.Context) ([]article.FileRecord, error)
	ArticlesGeneration(ctx context.Context) (int64, error)
	NextPublication(ctx context.Context, t time.Time) (time.Time, bool, error)
	ListAllArticles(ctx context.Context, f article.ListFilter) ([]article.Article, error)
	ArticleStateCounts(ctx context.Context, now time.Time) (map[string]int, error)
}

var t0 = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

func mk(slug string, day int, tags ...string) *article.Article {
	a := &article.Article{
		Slug: slug, Title: "Title " + slug, Summary: "Summary", Body: "Body", BodyHTML: "<p>Body</p>",
		AuthorName: "Åsa Lindqvist", Published: t0.AddDate(0, 0, day),
		Source: article.SourceFile, SourcePath: slug + ".md", ContentHash: "h-" + slug,
	}
	for _, tg := range tags {
		a.Tags = append(a.Tags, article.Tag{Name: tg, Slug: article.Slugify(tg)})
	}
	return a
}

func slugs(as []article.Article) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Slug
	}
	return out
}

func eq(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// result holds a store call's value and error until get checks the error,
// so a backend cannot pass by returning an error next to a plausible value.
type result[T any] struct {
	v   T
	err error
}

func must[T any](v T, err error) result[T] { return result[T]{v, err} }

// get returns the value, failing t if the call failed.
func (r result[T]) get(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

// ok fails t when a store call fails.
// sameErr: a backend answers with the error the shared constructor
// (package article, digest or subscribe) words, so every backend says
// the same.
func sameErr(t *testing.T, what string, got, want error) {
	t.Helper()
	if got == nil || got.Error() != want.Error() {
		t.Errorf("%s: err = %v, want %q", what, got, want)
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// upserter is any store the suites write articles into.
type upserter interface {
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
}

func upsert(t *testing.T, s upserter, a *article.Article, now time.Time) {
	t.Helper()
	if _, err := s.UpsertArticle(context.Background(), a, now); err != nil {
		t.Fatalf("upsert %s: %v", a.Slug, err)
	}
}

// RunArticles runs the article conformance suite.
func RunArticles(t *testing.T, open func(t *testing.T) ArticleStore) {
	ctx := context.Background()
	now := t0.AddDate(0, 1, 0)

	t.Run("UpsertAndGet", func(t *testing.T) {
		s := open(t)
		a := mk("one", 0, "Göteborg", "WP2")
		a.Image = &article.Image{MediaPath: "img/x.png", Alt: "alt", Width: 10, Height: 20}
		a.AuthorEmail = "asa@example.org"
		a.Link = "https://example.org/one"
		changed, err := s.UpsertArticle(ctx, a, now)
		if err != nil || !changed {
			t.Fatalf("insert: changed=%v err=%v", changed, err)
		}
		got, err := s.GetArticle(ctx, "one")
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != a.Title || got.AuthorName != "Åsa Lindqvist" || !got.Published.Equal(a.Published) ||
			!got.Updated.Equal(a.Published) || got.Image == nil || *got.Image != *a.Image || got.Link != a.Link ||
			len(got.Tags) != 2 || got.Tags[0] != (article.Tag{Name: "Göteborg", Slug: "goteborg"}) || got.ID == 0 {
			t.Errorf("got %+v", got)
		}
		if got.FirstSeen.IsZero() {
			t.Error("first_seen not set for a published article")
		}
		if _, err := s.GetArticle(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing: %v", err)
		}
	})

	t.Run("UnchangedIsNoop", func(t *testing.T) {
		s := open(t)
		a := mk("one", 0, "x")
		upsert(t, s, a, now)
		g1 := must(s.ArticlesGeneration(ctx)).get(t)
		again := mk("one", 0, "x")
		changed, err := s.UpsertArticle(ctx, again, now.Add(time.Hour))
		g2 := must(s.ArticlesGeneration(ctx)).get(t)
		if err != nil || changed || g1 != g2 {
			t.Errorf("re-upsert of unchanged: changed=%v err=%v gen %d→%d", changed, err, g1, g2)
		}
		if len(again.Tags) != 1 || again.ID != a.ID {
			t.Errorf("unchanged upsert lost fields: %+v", again)
		}
	})

	t.Run("ChangedKeepsIDNewUpdated", func(t *testing.T) {
		s := open(t)
		a := mk("one", 0, "x")
		upsert(t, s, a, now)
		id := a.ID
		b := mk("one", 0, "y")
		b.Title, b.ContentHash = "Retitled", "h2"
		later := now.Add(48 * time.Hour)
		changed, err := s.UpsertArticle(ctx, b, later)
		if err != nil || !changed {
			t.Fatalf("changed=%v err=%v", changed, err)
		}
		got := must(s.GetArticle(ctx, "one")).get(t)
		if got.ID != id || got.Title != "Retitled" || !got.Updated.Equal(later) || len(got.Tags) != 1 || got.Tags[0].Slug != "y" {
			t.Errorf("got %+v", got)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		s := open(t)
		upsert(t, s, mk("one", 0), now)
		b := mk("one", 0)
		b.SourcePath = "other.md"
		old := must(s.GetArticle(ctx, "one")).get(t)
		_, err := s.UpsertArticle(ctx, b, now)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("two files, one slug: %v", err)
		}
		sameErr(t, "two files, one slug", err, article.SlugConflict(old, b))
		c := mk("one", 0)
		c.Source = article.SourceAPI
		_, err = s.UpsertArticle(ctx, c, now)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("api over file: %v", err)
		}
		sameErr(t, "api over file", err, article.SlugConflict(old, c))
	})

	t.Run("CreateOnlyOnce", func(t *testing.T) {
		s := open(t)
		a := mk("new", 0)
		a.Source = article.SourceAPI
		if err := s.CreateArticle(ctx, a, now); err != nil || a.ID == 0 {
			t.Fatalf("create: %v (id %d)", err, a.ID)
		}
		b := mk("new", 1)
		b.Source = article.SourceAPI
		b.ContentHash = "other"
		err := s.CreateArticle(ctx, b, now)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("second create of one slug: %v", err)
		}
		sameErr(t, "second create of one slug", err, article.AlreadyExists("new"))
		got := must(s.GetArticle(ctx, "new")).get(t)
		if !got.Published.Equal(a.Published) {
			t.Error("the second create overwrote the first")
		}
	})

	t.Run("CreateFreeSlugSuffixes", func(t *testing.T) {
		s := open(t)
		// A file holds "report"; "report-3" and a look-alike "report-x" exist.
		upsert(t, s, mk("report", 0), now)
		for _, slug := range []string{"report-3", "report-x", "reports"} {
			a := mk(slug, 0)
			a.Source = article.SourceAPI
			if err := s.CreateArticle(ctx, a, now); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for i := 0; i < 3; i++ {
			a := mk("report", i)
			a.Source, a.SourcePath = article.SourceAPI, ""
			if err := s.CreateArticleFreeSlug(ctx, a, now); err != nil {
				t.Fatal(err)
			}
			got = append(got, a.Slug)
			if st, err := s.GetArticle(ctx, a.Slug); err != nil || st.ID != a.ID {
				t.Errorf("%s not stored as returned: %v", a.Slug, err)
			}
		}
		if want := []string{"report-2", "report-4", "report-5"}; !eq(got, want) {
			t.Errorf("slugs %v, want %v", got, want)
		}
		fresh := mk("fresh", 0)
		fresh.Source = article.SourceAPI
		if err := s.CreateArticleFreeSlug(ctx, fresh, now); err != nil || fresh.Slug != "fresh" {
			t.Errorf("free base: %q %v", fresh.Slug, err)
		}
	})

	t.Run("ListNewestFirstWithPaging", func(t *testing.T) {
		s := open(t)
		for i := 0; i < 7; i++ {
			upsert(t, s, mk(fmt.Sprintf("a%d", i), i, "all"), now)
		}
		draft := mk("draft", 3, "all")
		draft.Draft = true
		upsert(t, s, draft, now)
		future := mk("future", 100, "all")
		upsert(t, s, future, now)
		for _, tags := range [][]string{nil, {"all"}, {"all", "none"}} {
			got, err := s.ListArticles(ctx, article.Query{Now: now, Limit: 3, Offset: 3, Tags: tags})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"a3", "a2", "a1"}; !eq(slugs(got), want) {
				t.Errorf("tags %v: got %v, want %v", tags, slugs(got), want)
			}
			n := must(s.CountArticles(ctx, article.Query{Now: now, Tags: tags})).get(t)
			if n != 7 {
				t.Errorf("tags %v: count = %d", tags, n)
			}
		}
		all := must(s.ListArticles(ctx, article.Query{})).get(t)
		if len(all) != 8 || all[0].Slug != "future" {
			t.Errorf("no time bound: %v", slugs(all))
		}
		next, ok, err := s.NextPublication(ctx, now)
		if err != nil || !ok || !next.Equal(future.Published) {
			t.Errorf("next publication = %v %v %v", next, ok, err)
		}
	})

	t.Run("TagsAnyOf", func(t *testing.T) {
		s := open(t)
		upsert(t, s, mk("a", 1, "red"), now)
		upsert(t, s, mk("b", 2, "blue"), now)
		upsert(t, s, mk("c", 3, "red", "blue"), now)
		upsert(t, s, mk("d", 4, "green"), now)
		got := must(s.ListArticles(ctx, article.Query{Now: now, Tags: []string{"red", "blue"}})).get(t)
		if want := []string{"c", "b", "a"}; !eq(slugs(got), want) {
			t.Errorf("got %v, want %v", slugs(got), want)
		}
		tags := must(s.ListTags(ctx, now)).get(t)
		if len(tags) != 3 || tags[0].Slug != "blue" || tags[0].Count != 2 {
			t.Errorf("tags = %+v", tags)
		}
		if tg, err := s.GetTag(ctx, "green"); err != nil || tg.Name != "green" {
			t.Errorf("GetTag = %+v %v", tg, err)
		}
		if _, err := s.GetTag(ctx, "mauve"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown tag: %v", err)
		}
		if n := must(s.CountArticles(ctx, article.Query{Now: now, Tags: []string{"red"}})).get(t); n != 2 {
			t.Errorf("count of one tag = %d", n)
		}
		ok(t, s.SetRemoved(ctx, "d", true))
		if _, err := s.GetTag(ctx, "green"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tag of removed articles only: %v", err)
		}
	})

	t.Run("RemovedAndBack", func(t *testing.T) {
		s := open(t)
		upsert(t, s, mk("a", 1, "x"), now)
		g1 := must(s.ArticlesGeneration(ctx)).get(t)
		if err := s.SetRemoved(ctx, "a", true); err != nil {
			t.Fatal(err)
		}
		g2 := must(s.ArticlesGeneration(ctx)).get(t)
		if got := must(s.ListArticles(ctx, article.Query{Now: now, Tags: []string{"x"}})).get(t); len(got) != 0 || g1 == g2 {
			t.Errorf("removed still listed: %v (gen %d→%d)", slugs(got), g1, g2)
		}
		a := must(s.GetArticle(ctx, "a")).get(t)
		if !a.Removed || a.Visible(now) {
			t.Errorf("removed = %v", a.Removed)
		}
		fa := must(s.FileArticles(ctx)).get(t)
		if len(fa) != 1 || !fa[0].Removed || fa[0].SourcePath != "a.md" {
			t.Errorf("file articles = %+v", fa)
		}
		// The file comes back: the same content hash restores it.
		changed, err := s.UpsertArticle(ctx, mk("a", 1, "x"), now)
		if err != nil || !changed {
			t.Errorf("restore: %v %v", changed, err)
		}
		if got := must(s.ListArticles(ctx, article.Query{Now: now, Tags: []string{"x"}})).get(t); len(got) != 1 {
			t.Errorf("restored not listed")
		}
		// A renamed file may take over a removed article's slug.
		ok(t, s.SetRemoved(ctx, "a", true))
		b := mk("a", 1, "x")
		b.SourcePath = "renamed.md"
		if _, err := s.UpsertArticle(ctx, b, now); err != nil {
			t.Errorf("rename takeover: %v", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		upsert(t, s, mk("a", 1, "x"), now)
		if err := s.DeleteArticle(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		err := s.DeleteArticle(ctx, "a")
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		sameErr(t, "second delete", err, article.NotFound("a"))
		_, err = s.GetArticle(ctx, "a")
		sameErr(t, "get deleted", err, article.NotFound("a"))
		_, err = s.GetTag(ctx, "x")
		sameErr(t, "tag of no article", err, article.TagNotFound("x"))
		if n := must(s.CountArticles(ctx, article.Query{})).get(t); n != 0 {
			t.Errorf("count = %d", n)
		}
	})

	t.Run("DraftBecomesPublished", func(t *testing.T) {
		s := open(t)
		d := mk("d", 1)
		d.Draft = true
		upsert(t, s, d, now)
		got := must(s.GetArticle(ctx, "d")).get(t)
		if !got.FirstSeen.IsZero() {
			t.Errorf("draft has first_seen %v", got.FirstSeen)
		}
		p := mk("d", 1)
		p.ContentHash = "h-published"
		upsert(t, s, p, now)
		got = must(s.GetArticle(ctx, "d")).get(t)
		if !got.FirstSeen.Equal(now) {
			t.Errorf("first_seen = %v, want %v", got.FirstSeen, now)
		}
	})

	t.Run("StatesListAndCount", func(t *testing.T) {
		// What the admin API lists and /metrics counts: every state, named
		// by article.StateOf, paged newest first by (published, id).
		s := open(t)
		upsert(t, s, mk("pub-old", 1, "x"), now)
		upsert(t, s, mk("pub-new", 2), now)
		upsert(t, s, mk("later", 40, "x"), now) // after now: scheduled
		d := mk("draft", 3, "x")
		d.Draft = true
		upsert(t, s, d, now)
		upsert(t, s, mk("gone", 4), now)
		ok(t, s.SetRemoved(ctx, "gone", true))

		counts := must(s.ArticleStateCounts(ctx, now)).get(t)
		want := map[string]int{article.StatePublished: 2, article.StateScheduled: 1, article.StateDraft: 1, article.StateRemoved: 1}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("counts = %v, want %v", counts, want)
		}
		for _, tt := range []struct {
			state, tag string
			want       []string
		}{
			{"", "", []string{"later", "gone", "draft", "pub-new", "pub-old"}},
			{article.StatePublished, "", []string{"pub-new", "pub-old"}},
			{article.StateScheduled, "", []string{"later"}},
			{article.StateDraft, "", []string{"draft"}},
			{article.StateRemoved, "", []string{"gone"}},
			{"", "x", []string{"later", "draft", "pub-old"}},
		} {
			got := must(s.ListAllArticles(ctx, article.ListFilter{State: tt.state, Tag: tt.tag, Now: now})).get(t)
			if !eq(slugs(got), tt.want) {
				t.Errorf("state %q tag %q: %v, want %v", tt.state, tt.tag, slugs(got), tt.want)
			}
		}
		// Paging by cursor neither repeats nor skips.
		var all []string
		var after *article.Cursor
		for range 10 {
			page := must(s.ListAllArticles(ctx, article.ListFilter{Now: now, After: after, Limit: 2})).get(t)
			if len(page) == 0 {
				break
			}
			all = append(all, slugs(page)...)
			last := page[len(page)-1]
			after = &article.Cursor{Published: last.Published, ID: last.ID}
		}
		if !eq(all, []string{"later", "gone", "draft", "pub-new", "pub-old"}) {
			t.Errorf("paged: %v", all)
		}
		if got := must(s.ListAllArticles(ctx, article.ListFilter{State: article.StatePublished, Tag: "x", Now: now})).get(t); len(got) != 1 || len(got[0].Tags) != 1 {
			t.Errorf("published with tag x: %+v, want pub-old with its tag", slugs(got))
		}
		if _, err := s.ListAllArticles(ctx, article.ListFilter{State: "lost"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown state: %v", err)
		}
	})
}
