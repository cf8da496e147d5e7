package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
)

// TestAPIRoutesDocumented: every /api/v1 route registered on the mux is in
// the OpenAPI document, and every documented operation is registered.
func TestAPIRoutesDocumented(t *testing.T) {
	a := newAPI(APIConfig{Tokens: []APIToken{{Name: "t", Token: "0123456789abcdef"}}}, Site{BaseURL: "https://news.example.org"}, nil, time.Now)
	var registered, fallbacks []string
	a.register(func(pattern string, h http.Handler) {
		if h == nil {
			t.Errorf("%s: nil handler", pattern)
		}
		if strings.HasPrefix(pattern, "/") { // no method: a 405 or the 404 catch-all
			fallbacks = append(fallbacks, pattern)
			return
		}
		registered = append(registered, pattern)
	})
	// The same registration on a real mux must not panic (no conflicts).
	a.register(http.NewServeMux().Handle)

	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(a.doc, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var documented []string
	docPaths := map[string]bool{}
	for p, ops := range doc.Paths {
		docPaths[p] = true
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(registered)
	sort.Strings(documented)
	if !slices.Equal(registered, documented) {
		t.Errorf("registered and documented routes differ:\nregistered %q\ndocumented %q", registered, documented)
	}
	for _, p := range fallbacks {
		if p != apiPrefix+"/" && !docPaths[p] {
			t.Errorf("method-less pattern %q is for no documented path", p)
		}
	}
	for _, want := range []string{"GET /api/v1/articles", "POST /api/v1/articles", "GET /api/v1/articles/{slug}",
		"PUT /api/v1/articles/{slug}", "PATCH /api/v1/articles/{slug}", "DELETE /api/v1/articles/{slug}", "GET /api/v1/openapi.json"} {
		if !slices.Contains(registered, want) {
			t.Errorf("%s is not registered", want)
		}
	}
	// Every operation documents auth failures, and every schema it names exists.
	var full map[string]any
	json.Unmarshal(a.doc, &full)
	schemas := full["components"].(map[string]any)["schemas"].(map[string]any)
	raw := string(a.doc)
	for i := 0; ; {
		j := strings.Index(raw[i:], `"#/components/schemas/`)
		if j < 0 {
			break
		}
		i += j + len(`"#/components/schemas/`)
		name := raw[i : i+strings.IndexByte(raw[i:], '"')]
		if schemas[name] == nil {
			t.Errorf("schema %q is referenced but not defined", name)
		}
	}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			var o struct {
				OperationID string                     `json:"operationId"`
				Responses   map[string]json.RawMessage `json:"responses"`
			}
			json.Unmarshal(op, &o)
			if o.OperationID == "" || o.Responses["401"] == nil {
				t.Errorf("%s %s: operationId %q, 401 documented: %v", m, p, o.OperationID, o.Responses["401"] != nil)
			}
		}
	}
}

// FuzzAPIArticle feeds arbitrary bodies to the API's article decoders and
// validation: nothing panics, what passes is sanitised and plain, and an
// article rebuilt for PATCH validates back to the same article.
func FuzzAPIArticle(f *testing.F) {
	f.Add([]byte(`{"slug":"a","title":"A","date":"2026-11-01","body":"x"}`))
	f.Add([]byte(`{"slug":"Göteborg news","title":"Why <br> tags matter","date":"2026-11-01T09:00:00+01:00","tags":["WP2","wp2","Århus"],"summary":"s\n\nt","draft":true,"body":"<script>x</script>"}`))
	f.Add([]byte(`{"title":null,"draft":null,"tags":null}`))
	p := article.NewParser(time.UTC, nil)
	a := newAPI(APIConfig{Parser: p}, Site{BaseURL: "https://news.example.org"}, nil, time.Now)
	f.Fuzz(func(t *testing.T, data []byte) {
		var patch apiArticlePatch
		_ = decodeStrict(data, &patch)
		var in apiArticleIn
		if err := decodeStrict(data, &in); err != nil {
			if he, ok := err.(*HTTPError); !ok || he.Status != http.StatusBadRequest {
				t.Fatalf("decode error %v is not a 400", err)
			}
			return
		}
		ar, err := a.validate(in)
		if err != nil {
			he, ok := err.(*HTTPError)
			if !ok || he.Status != http.StatusUnprocessableEntity {
				t.Fatalf("validation error %v is not a 422", err)
			}
			return
		}
		if ar.Slug != article.Slugify(in.Slug) || ar.Title != strings.TrimSpace(in.Title) || ar.Source != article.SourceAPI {
			t.Fatalf("slug %q title %q source %q from %q %q", ar.Slug, ar.Title, ar.Source, in.Slug, in.Title)
		}
		if strings.Contains(strings.ToLower(ar.BodyHTML), "<script") {
			t.Fatalf("script in body_html: %s", ar.BodyHTML)
		}
		again, err := a.validate(a.articleIn(ar))
		if err != nil {
			t.Fatalf("the article rebuilt for PATCH does not validate: %v", err)
		}
		if again.Slug != ar.Slug || again.Title != ar.Title || !again.Published.Equal(ar.Published) || again.Draft != ar.Draft ||
			again.Summary != ar.Summary || again.BodyHTML != ar.BodyHTML || again.AuthorName != ar.AuthorName || !slices.Equal(again.Tags, ar.Tags) {
			t.Fatalf("rebuilt article differs:\n%+v\n%+v", again, ar)
		}
		if _, err := json.Marshal(a.articleOut(ar, true)); err != nil {
			t.Fatal(err)
		}
	})
}
