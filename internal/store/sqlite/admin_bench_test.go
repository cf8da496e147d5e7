package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/herald-news/herald/internal/store/storetest"
)

// BenchmarkAdminArticleList: a page of the admin list and its total over
// 10,000 articles (BENCHMARKS.md, "Admin article list").
func BenchmarkAdminArticleList(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "herald.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	storetest.BenchAdminArticleList(b, s)
}
