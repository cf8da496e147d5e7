package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/herald-news/herald/internal/store/storetest"
	"github.com/herald-news/herald/internal/web/admintest"
)

// BenchmarkAdminArticlesPage: GET /admin/articles server-side (session
// check, the store's page and total, the template) over 10,000 articles
// on SQLite (BENCHMARKS.md, "Admin article list page").
func BenchmarkAdminArticlesPage(b *testing.B) {
	f := newEditorFixture(b, 0)
	now := storetest.FillAdminList(b, f.store, storetest.AdminListArticles)
	f.clock.mu.Lock()
	f.clock.t = now
	f.clock.mu.Unlock()
	_, c := admintest.Login(b, f.store, f.srv.URL, admintest.User{At: now})
	h := f.srv.Config.Handler
	for _, bc := range []struct{ name, query string }{
		{"Unfiltered", ""},
		{"ByTag", "?tag=tag-7"},
		{"ByStatusDraft", "?status=draft"},
		{"TitleSearchRare", "?q=no.+4242"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/admin/articles"+bc.query, nil)
				req.AddCookie(c)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
