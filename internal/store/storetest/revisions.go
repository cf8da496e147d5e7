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

// RevisionStore is the part of a store the revision suite exercises.
type RevisionStore interface {
	ArticleStore
	SaveArticle(ctx context.Context, a *article.Article, w *store.ArticleSave, now time.Time) (bool, error)
	ArticleVersion(ctx context.Context, slug string) (int64, error)
	ArticleRevisions(ctx context.Context, slug string) ([]store.Revision, error)
	ArticleRevision(ctx context.Context, slug string, id int64) (store.Revision, error)
	CountAllArticles(ctx context.Context, f article.ListFilter) (int, error)
}

// apiArticle is an article as the newsroom writes it; hash stands for
// its content.
func apiArticle(slug, title, hash string) *article.Article {
	return &article.Article{Slug: slug, Title: title, Body: "Body", BodyHTML: "<p>Body</p>", Published: t0,
		Source: article.SourceAPI, ContentHash: hash}
}

func rev(who, fields string, at time.Time) store.Revision {
	return store.Revision{At: at, UserID: 7, Who: who, IP: "192.0.2.1", Fields: []byte(fields)}
}

// RunRevisions runs the revision and admin-list suite
// (docs/ARCHITECTURE.md, "Newsroom service").
func RunRevisions(t *testing.T, open func(t *testing.T) RevisionStore) {
	ctx := context.Background()
	now := t0.Add(24 * time.Hour)

	t.Run("SaveRecordsRevisions", func(t *testing.T) {
		s := open(t)
		a := apiArticle("news", "News", "h1")
		w := &store.ArticleSave{Mode: store.SaveCreate, Revision: rev("ann@example.org", `{"title":"News"}`, now)}
		if changed := must(s.SaveArticle(ctx, a, w, now)).get(t); !changed || w.Revision.ID == 0 || a.ID == 0 {
			t.Fatalf("create: changed %v, revision %d, article %d", changed, w.Revision.ID, a.ID)
		}
		first := w.Revision.ID
		if v := must(s.ArticleVersion(ctx, "news")).get(t); v != first {
			t.Errorf("version %d, want %d", v, first)
		}
		// A create of a taken slug is a conflict and records nothing.
		w2 := &store.ArticleSave{Mode: store.SaveCreate, Revision: rev("bob", `{}`, now)}
		if _, err := s.SaveArticle(ctx, apiArticle("news", "Again", "h9"), w2, now); !errors.Is(err, store.ErrConflict) {
			t.Errorf("create over a taken slug: %v", err)
		}
		// A replace from the current version records a new one.
		w = &store.ArticleSave{Mode: store.SaveReplace, CheckBase: true, Base: first, Revision: rev("token default", `{"title":"News 2"}`, now.Add(time.Minute))}
		must(s.SaveArticle(ctx, apiArticle("news", "News 2", "h2"), w, now.Add(time.Minute))).get(t)
		second := w.Revision.ID
		if second <= first {
			t.Errorf("second revision %d after %d", second, first)
		}
		// A replace from the old version is an edit conflict and writes nothing.
		w = &store.ArticleSave{Mode: store.SaveReplace, CheckBase: true, Base: first, Revision: rev("ann", `{}`, now)}
		if _, err := s.SaveArticle(ctx, apiArticle("news", "Lost", "h3"), w, now); !errors.Is(err, store.ErrEditConflict) {
			t.Errorf("stale base: %v", err)
		}
		if got := must(s.GetArticle(ctx, "news")).get(t); got.Title != "News 2" {
			t.Errorf("title %q after a refused write", got.Title)
		}
		// An unchanged article records nothing.
		w = &store.ArticleSave{Mode: store.SaveReplace, CheckBase: true, Base: second, Revision: rev("ann", `{}`, now)}
		if changed := must(s.SaveArticle(ctx, apiArticle("news", "News 2", "h2"), w, now)).get(t); changed || w.Revision.ID != 0 {
			t.Errorf("unchanged save: changed %v, revision %d", changed, w.Revision.ID)
		}
		list := must(s.ArticleRevisions(ctx, "news")).get(t)
		if len(list) != 2 || list[0].ID != second || list[1].ID != first || list[0].Who != "token default" ||
			list[1].Who != "ann@example.org" || list[1].UserID != 7 || list[1].IP != "192.0.2.1" || !list[1].At.Equal(now) || list[0].Fields != nil {
			t.Errorf("revisions: %+v", list)
		}
		r := must(s.ArticleRevision(ctx, "news", first)).get(t)
		if string(r.Fields) != `{"title":"News"}` || r.Who != "ann@example.org" {
			t.Errorf("revision: %+v", r)
		}
		if _, err := s.ArticleRevision(ctx, "news", second+100); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown revision: %v", err)
		}
		if _, err := s.ArticleRevisions(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revisions of an unknown article: %v", err)
		}
	})

	t.Run("BeforeAndFreeSlug", func(t *testing.T) {
		s := open(t)
		// An article saved before revisions were kept.
		upsert(t, s, apiArticle("old", "Old", "h0"), now)
		if v := must(s.ArticleVersion(ctx, "old")).get(t); v != 0 {
			t.Errorf("version without revisions: %d", v)
		}
		before := rev("", `{"title":"Old"}`, t0)
		w := &store.ArticleSave{Mode: store.SaveReplace, CheckBase: true, Base: 0, Before: &before, Revision: rev("ann", `{"title":"New"}`, now)}
		must(s.SaveArticle(ctx, apiArticle("old", "New", "h1"), w, now)).get(t)
		list := must(s.ArticleRevisions(ctx, "old")).get(t)
		if len(list) != 2 || list[1].Who != "" || list[0].ID != w.Revision.ID || list[1].ID != before.ID {
			t.Errorf("revisions: %+v", list)
		}
		// Before is recorded only once.
		b2 := rev("", `{}`, t0)
		w = &store.ArticleSave{Mode: store.SaveReplace, Before: &b2, Revision: rev("ann", `{}`, now)}
		must(s.SaveArticle(ctx, apiArticle("old", "Newer", "h2"), w, now)).get(t)
		if n := len(must(s.ArticleRevisions(ctx, "old")).get(t)); n != 3 {
			t.Errorf("%d revisions, want 3", n)
		}
		a := apiArticle("old", "Other", "h7")
		w = &store.ArticleSave{Mode: store.SaveCreateFreeSlug, Revision: rev("ann", `{}`, now)}
		must(s.SaveArticle(ctx, a, w, now)).get(t)
		if a.Slug != "old-2" || must(s.ArticleVersion(ctx, "old-2")).get(t) != w.Revision.ID {
			t.Errorf("free slug %q", a.Slug)
		}
	})

	t.Run("KeepAndCascade", func(t *testing.T) {
		s := open(t)
		w := &store.ArticleSave{Mode: store.SaveCreate, Revision: rev("ann", `{}`, now), Keep: 3}
		must(s.SaveArticle(ctx, apiArticle("k", "K", "h0"), w, now)).get(t)
		var ids []int64
		for i := 1; i <= 5; i++ {
			w := &store.ArticleSave{Mode: store.SaveReplace, Revision: rev("ann", fmt.Sprintf(`{"n":%d}`, i), now), Keep: 3}
			must(s.SaveArticle(ctx, apiArticle("k", "K", fmt.Sprint("h", i)), w, now)).get(t)
			ids = append(ids, w.Revision.ID)
		}
		list := must(s.ArticleRevisions(ctx, "k")).get(t)
		if len(list) != 3 || list[0].ID != ids[4] || list[2].ID != ids[2] {
			t.Errorf("kept %+v, want the newest 3 of %v", list, ids)
		}
		ok(t, s.DeleteArticle(ctx, "k"))
		if _, err := s.ArticleRevision(ctx, "k", ids[4]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revision after delete: %v", err)
		}
		// Ids are never handed out again: a version names one save.
		w = &store.ArticleSave{Mode: store.SaveCreate, Revision: rev("ann", `{}`, now)}
		must(s.SaveArticle(ctx, apiArticle("k", "K", "h0"), w, now)).get(t)
		if w.Revision.ID <= ids[4] {
			t.Errorf("revision id %d reused (had %d)", w.Revision.ID, ids[4])
		}
	})

	t.Run("AdminListSearchAndCount", func(t *testing.T) {
		s := open(t)
		for i, title := range []string{"Österlen harbour", "Søren's report", "Åland ferry", "Plain news", "100% sure_thing"} {
			a := mk(fmt.Sprint("a", i), i+1, "x")
			a.Title = title
			if i == 3 {
				a.Draft = true
			}
			upsert(t, s, a, now)
		}
		for _, tt := range []struct {
			f    article.ListFilter
			want []string
		}{
			{article.ListFilter{Title: "ÖSTER"}, []string{"a0"}},
			{article.ListFilter{Title: "søren"}, []string{"a1"}},
			{article.ListFilter{Title: "SØREN'S"}, []string{"a1"}},
			{article.ListFilter{Title: "åland"}, []string{"a2"}},
			{article.ListFilter{Title: "oster"}, nil}, // ö is a letter of its own
			{article.ListFilter{Title: "soren"}, nil},
			{article.ListFilter{Title: "%"}, []string{"a4"}},
			{article.ListFilter{Title: "h_r"}, nil}, // _ is no wildcard
			{article.ListFilter{Title: "news", State: article.StateDraft}, []string{"a3"}},
			{article.ListFilter{Title: "news", State: article.StatePublished}, nil},
			{article.ListFilter{Title: "r", Tag: "x"}, []string{"a4", "a2", "a1", "a0"}},
		} {
			tt.f.Now = now
			got := must(s.ListAllArticles(ctx, tt.f)).get(t)
			if !eq(slugs(got), tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("%+v: %v, want %v", tt.f, slugs(got), tt.want)
			}
			if n := must(s.CountAllArticles(ctx, tt.f)).get(t); n != len(tt.want) {
				t.Errorf("%+v: count %d, want %d", tt.f, n, len(tt.want))
			}
		}
		// The count ignores the cursor and the limit; the list honours them.
		f := article.ListFilter{Now: now, Limit: 2}
		page := must(s.ListAllArticles(ctx, f)).get(t)
		if n := must(s.CountAllArticles(ctx, f)).get(t); n != 5 || !eq(slugs(page), []string{"a4", "a3"}) {
			t.Errorf("count %d, page %v", n, slugs(page))
		}
		f.After = &article.Cursor{Published: page[1].Published, ID: page[1].ID}
		if page := must(s.ListAllArticles(ctx, f)).get(t); !eq(slugs(page), []string{"a2", "a1"}) {
			t.Errorf("second page %v", slugs(page))
		}
		// A retitled article is found by its new title only.
		a := mk("a0", 1, "x")
		a.Title, a.ContentHash = "Renamed", "other"
		upsert(t, s, a, now)
		if got := must(s.ListAllArticles(ctx, article.ListFilter{Now: now, Title: "öster"})).get(t); len(got) != 0 {
			t.Errorf("old title still found: %v", slugs(got))
		}
	})
}
