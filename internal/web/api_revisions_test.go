package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
)

// TestAPIRevisions: every save keeps a revision, a stale base is 409 and
// changes nothing, a revision can be read and restored, and every
// successful write is in the audit log with the token's name.
func TestAPIRevisions(t *testing.T) {
	f := newAPIFixtureWired(t, func(st *sqlite.Store, c *web.APIConfig) { c.Audit = st }, defaultTokens()...)
	r := f.do(t, "POST", "/api/v1/articles", articleJSON("tide", "Tide tables"))
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	v1 := r.json(t)["version"].(string)
	if g := f.do(t, "GET", "/api/v1/articles/tide", "").json(t); g["version"] != v1 {
		t.Errorf("GET version %v, want %s", g["version"], v1)
	}

	t.Run("OKEditWithBase", func(t *testing.T) {
		r := f.do(t, "PATCH", "/api/v1/articles/tide", fmt.Sprintf(`{"title":"Tide tables, corrected","base":%q}`, v1))
		if r.Status != 200 || r.json(t)["version"] == v1 {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		for _, req := range [][3]string{
			{"PUT", "/api/v1/articles/tide", articleJSON("tide", "Lost edit", fmt.Sprintf(`"base":%q`, v1))},
			{"PATCH", "/api/v1/articles/tide", fmt.Sprintf(`{"title":"Lost edit","base":%q}`, v1)},
			{"DELETE", "/api/v1/articles/tide?base=" + v1, ""},
		} {
			r := f.do(t, req[0], req[1], req[2])
			if e := r.errorOf(t); r.Status != 409 || e["field"] != "base" || !strings.Contains(e["message"].(string), "token default") {
				t.Errorf("%s: %d %s", req[0], r.Status, r.Body)
			}
		}
		if g := f.do(t, "GET", "/api/v1/articles/tide", "").json(t); g["title"] != "Tide tables, corrected" {
			t.Errorf("a refused write changed the article: %v", g["title"])
		}
	})
	t.Run("OKListGetRestore", func(t *testing.T) {
		list := f.do(t, "GET", "/api/v1/articles/tide/revisions", "")
		revs, _ := list.json(t)["revisions"].([]any)
		if list.Status != 200 || len(revs) != 2 {
			t.Fatalf("revisions: %d %s", list.Status, list.Body)
		}
		newest, oldest := revs[0].(map[string]any), revs[1].(map[string]any)
		if newest["current"] != true || oldest["version"] != v1 || oldest["who"] != "token default" || oldest["fields"] != nil {
			t.Errorf("revisions %s", list.Body)
		}
		g := f.do(t, "GET", fmt.Sprintf("/api/v1/articles/tide/revisions/%v", oldest["id"]), "")
		if fields, _ := g.json(t)["fields"].(map[string]any); g.Status != 200 || fields["title"] != "Tide tables" {
			t.Fatalf("revision: %d %s", g.Status, g.Body)
		}
		// A stale base refuses the restore; the current one allows it.
		path := fmt.Sprintf("/api/v1/articles/tide/revisions/%v/restore", oldest["id"])
		if r := f.do(t, "POST", path, fmt.Sprintf(`{"base":%q}`, v1)); r.Status != 409 {
			t.Errorf("stale restore: %d %s", r.Status, r.Body)
		}
		r := f.do(t, "POST", path, fmt.Sprintf(`{"base":%q}`, newest["version"]))
		if m := r.json(t); r.Status != 200 || m["title"] != "Tide tables" || m["version"] == newest["version"] {
			t.Fatalf("restore: %d %s", r.Status, r.Body)
		}
		if r := f.do(t, "POST", path, ""); r.Status != 200 {
			t.Errorf("restore without a body: %d %s", r.Status, r.Body)
		}
		if n := len(f.do(t, "GET", "/api/v1/articles/tide/revisions", "").json(t)["revisions"].([]any)); n != 3 {
			t.Errorf("%d revisions after restore, want 3 (restoring the same again changes nothing)", n)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, p := range []string{"/api/v1/articles/nope/revisions", "/api/v1/articles/tide/revisions/999999", "/api/v1/articles/tide/revisions/x"} {
			if r := f.do(t, "GET", p, ""); r.Status != 404 {
				t.Errorf("%s: %d %s", p, r.Status, r.Body)
			}
		}
	})
	t.Run("OKAudit", func(t *testing.T) {
		f.token = tokenB
		if r := f.do(t, "DELETE", "/api/v1/articles/tide", ""); r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		f.token = tokenA
		log, err := f.store.Audit(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range log {
			got = append(got, e.Email+" "+e.Action+" "+e.Detail)
			if e.IP != "127.0.0.1" || e.At.IsZero() {
				t.Errorf("entry %+v", e)
			}
		}
		// Newest first; refused writes (409) are not there.
		want := []string{
			"token cms api.deleteArticle DELETE /api/v1/articles/tide",
			"token default api.restoreArticleRevision POST /api/v1/articles/tide/revisions/" + v1 + "/restore",
			"token default api.restoreArticleRevision POST /api/v1/articles/tide/revisions/" + v1 + "/restore",
			"token default api.patchArticle PATCH /api/v1/articles/tide",
			"token default api.createArticle POST /api/v1/articles",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("audit log:\n%q\nwant\n%q", got, want)
		}
	})
}
