package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestAPIRoutesDocumented: every /api/v1 route registered on the mux is in
// the OpenAPI document, and every documented operation is registered.
func TestAPIRoutesDocumented(t *testing.T) {
	a := newAPI(APIConfig{Tokens: []APIToken{{Name: "t", Token: "0123456789abcdef"}}}, Site{BaseURL: "https://news.example.org"}, nil, time.Now, func(*http.Request) string { return "" })
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
