package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
)

// AdminListStore is what the admin list benchmark needs.
type AdminListStore interface {
	upserter
	SetRemoved(ctx context.Context, slug string, removed bool) error
	ListAllArticles(ctx context.Context, f article.ListFilter) ([]article.Article, error)
	CountAllArticles(ctx context.Context, f article.ListFilter) (int, error)
}

// AdminListArticles is how many articles BenchAdminArticleList stores.
const AdminListArticles = 10_000

var benchPlaces = []string{"Ærøskøbing", "Göteborg", "Århus", "Tromsø", "Oulu", "Kiel", "Gdańsk", "Riga", "Tallinn", "Visby", "Bergen", "Malmö", "Turku"}

// FillAdminList stores n articles the way a long-running site has them:
// mostly published, some scheduled, drafts and removed ones, two of 20
// tags each, and titles in several languages.
func FillAdminList(tb testing.TB, s AdminListStore, n int) time.Time {
	ctx := context.Background()
	now := t0.AddDate(0, 0, n/10)
	for i := range n {
		a := mk(fmt.Sprintf("a%05d", i), 0, fmt.Sprint("tag ", i%20), fmt.Sprint("tag ", (i/7)%20))
		a.Published = t0.Add(time.Duration(i) * 2 * time.Hour) // the last tenth is after now: scheduled
		a.Title = fmt.Sprintf("%s harbour report no. %d", benchPlaces[i%len(benchPlaces)], i)
		a.Draft = i%15 == 3
		if _, err := s.UpsertArticle(ctx, a, now); err != nil {
			tb.Fatal(err)
		}
		if i%33 == 5 {
			if err := s.SetRemoved(ctx, a.Slug, true); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return now
}

// BenchAdminArticleList measures what the admin article list asks per
// page: 50 rows (51 fetched, to know whether there is a next page) and the
// total, over AdminListArticles articles.
func BenchAdminArticleList(b *testing.B, s AdminListStore) {
	ctx := context.Background()
	now := FillAdminList(b, s, AdminListArticles)
	for _, bc := range []struct {
		name string
		f    article.ListFilter
	}{
		{"Unfiltered", article.ListFilter{}},
		{"ByStatusDraft", article.ListFilter{State: article.StateDraft}},
		{"ByStatusPublished", article.ListFilter{State: article.StatePublished}},
		{"ByTag", article.ListFilter{Tag: "tag-7"}},
		{"TitleSearch", article.ListFilter{Title: "TROMSØ"}},
		{"TitleSearchRare", article.ListFilter{Title: "no. 4242"}}, // one match: every row is looked at
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := bc.f
			f.Now, f.Limit = now, 51
			for b.Loop() {
				page, err := s.ListAllArticles(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				total, err := s.CountAllArticles(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				if len(page) == 0 || total < len(page) {
					b.Fatalf("page %d of %d", len(page), total)
				}
			}
		})
	}
}
