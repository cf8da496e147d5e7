package postgres

import (
	"testing"

	"github.com/herald-news/herald/internal/store/storetest"
	"github.com/herald-news/herald/internal/testenv"
)

// BenchmarkAdminArticleList: a page of the admin list and its total over
// 10,000 articles (BENCHMARKS.md, "Admin article list").
func BenchmarkAdminArticleList(b *testing.B) {
	storetest.BenchAdminArticleList(b, openTest(b, testenv.PostgresDSN(b)))
}
