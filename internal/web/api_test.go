package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

const (
	tokenA = "token-a-0123456789abcdef"
	tokenB = "token-b-fedcba9876543210" // a second, rotated-in token
)

// lockedBuffer is a log sink the server and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type apiFixture struct {
	srv   *httptest.Server
	store *sqlite.Store
	dir   string
	log   *lockedBuffer
	token string
}

// newAPIFixture serves the real web.Server with the admin API over a real
// SQLite store, a content folder with one image, and the given tokens.
func newAPIFixture(t *testing.T, tokens ...web.APIToken) *apiFixture {
	t.Helper()
	return newAPIFixtureWith(t, nil, tokens...)
}

// newAPIFixtureWith also wires subscribers, made over the fixture's store.
func newAPIFixtureWith(t *testing.T, subs func(*sqlite.Store) web.APISubscribers, tokens ...web.APIToken) *apiFixture {
	t.Helper()
	return newAPIFixtureWired(t, func(st *sqlite.Store, c *web.APIConfig) {
		if subs != nil {
			c.Subscribers = subs(st)
		}
	}, tokens...)
}

// newAPIFixtureWired lets wire add parts (subscribers, digests) made over
// the fixture's store to the API's configuration.
func newAPIFixtureWired(t *testing.T, wire func(*sqlite.Store, *web.APIConfig), tokens ...web.APIToken) *apiFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "images"), 0o755)
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 40, 30)))
	os.WriteFile(filepath.Join(dir, "images", "pic.png"), buf.Bytes(), 0o644)
	logs := &lockedBuffer{}
	apiCfg := &web.APIConfig{
		Tokens:  tokens,
		Store:   st,
		Parser:  article.NewParser(time.UTC, os.DirFS(dir)),
		MaxBody: 64 << 10,
	}
	if wire != nil {
		wire(st, apiCfg)
	}
	s, err := web.New(web.Config{
		Site:       web.Site{Title: "Herald Test", BaseURL: "https://news.example.org", Language: "en", Location: time.UTC},
		Store:      st,
		Templates:  templates.FS(""),
		ContentDir: dir,
		Media:      st,
		Now:        func() time.Time { return now },
		Logger:     slog.New(web.LogHandler(slog.NewTextHandler(logs, nil))),
		API:        apiCfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &apiFixture{srv: srv, store: st, dir: dir, log: logs, token: tokenA}
}

func defaultTokens() []web.APIToken {
	return []web.APIToken{{Name: "default", Token: tokenA}, {Name: "cms", Token: tokenB}, {Name: "unset", Token: ""}}
}

type apiResp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r apiResp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// errorOf returns the error object of a JSON error response.
func (r apiResp) errorOf(t *testing.T) map[string]any {
	t.Helper()
	e, ok := r.json(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %s", r.Body)
	}
	if e["request_id"] == "" || e["request_id"] != r.Header.Get("X-Request-Id") {
		t.Errorf("request_id %v, header %q", e["request_id"], r.Header.Get("X-Request-Id"))
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("error content type %q", r.Header.Get("Content-Type"))
	}
	return e
}

// do sends a request with the fixture's token (auth "" sends none).
func (f *apiFixture) do(t *testing.T, method, path, body string, header ...string) apiResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResp{resp.StatusCode, resp.Header, b}
}

func articleJSON(slug, title string, extra ...string) string {
	fields := []string{`"slug":` + quote(slug), `"title":` + quote(title), `"date":"2026-11-20T10:00:00+01:00"`,
		`"tags":["Cluster training","WP2"]`, `"author":"Åsa Lindqvist"`, `"body":"First paragraph of ` + slug + `.\n\nMore."`}
	return "{" + strings.Join(append(fields, extra...), ",") + "}"
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestAPIAuth(t *testing.T) {
	f := newAPIFixture(t, defaultTokens()...)
	tests := []struct {
		name   string
		auth   string
		status int
		want   string
	}{
		{"OK", "Bearer " + tokenA, 200, ""},
		{"OKRotatedSecondToken", "Bearer " + tokenB, 200, ""},
		{"OKSchemeCaseInsensitive", "bearer " + tokenA, 200, ""},
		{"ErrUnauthorizedNoHeader", "", 401, "missing bearer token"},
		{"ErrUnauthorizedWrongScheme", "Basic " + tokenA, 401, "wrong authorization scheme"},
		{"ErrUnauthorizedBearerAlone", "Bearer", 401, "wrong authorization scheme"},
		{"ErrUnauthorizedWrongToken", "Bearer " + tokenA + "x", 401, "invalid token"},
		{"ErrUnauthorizedPrefixOfToken", "Bearer " + tokenA[:10], 401, "invalid token"},
		{"ErrUnauthorizedEmptyTokenNeverMatches", "Bearer ", 401, "wrong authorization scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/articles", "/api/v1/openapi.json"} {
				r := f.do(t, "GET", path, "", "Authorization", tt.auth)
				if r.Status != tt.status {
					t.Fatalf("%s: status %d, want %d: %s", path, r.Status, tt.status, r.Body)
				}
				if tt.status == 401 {
					if e := r.errorOf(t); !strings.Contains(e["message"].(string), tt.want) {
						t.Errorf("message %q, want %q", e["message"], tt.want)
					}
					if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer ") {
						t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
					}
				}
			}
		})
	}
	t.Run("ErrUnauthorizedWriteChangesNothing", func(t *testing.T) {
		r := f.do(t, "POST", "/api/v1/articles", articleJSON("sneaky", "Sneaky"), "Authorization", "Bearer nope-nope-nope-nope")
		if r.Status != 401 {
			t.Fatalf("status %d", r.Status)
		}
		if r := f.do(t, "GET", "/api/v1/articles/sneaky", ""); r.Status != 404 {
			t.Errorf("article written without a valid token: %d", r.Status)
		}
	})
	t.Run("WritesLoggedWithTokenName", func(t *testing.T) {
		f.token = tokenB
		defer func() { f.token = tokenA }()
		if r := f.do(t, "POST", "/api/v1/articles", articleJSON("logged", "Logged")); r.Status != 201 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		logs := f.log.String()
		if !strings.Contains(logs, `msg="api write" token=cms method=POST path=/api/v1/articles status=201`) || !strings.Contains(logs, "request_id=") {
			t.Errorf("write not logged with the token's name:\n%s", logs)
		}
		if strings.Contains(logs, tokenB) {
			t.Error("the token itself is in the log")
		}
	})
}

func TestAPIOff(t *testing.T) {
	for name, tokens := range map[string][]web.APIToken{
		"NoTokens":          nil,
		"OnlyEmptyTokens":   {{Name: "default", Token: ""}},
		"DefaultConfigLike": {{Name: "default"}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newAPIFixture(t, tokens...)
			for _, req := range [][2]string{{"GET", "/api/v1/articles"}, {"GET", "/api/v1/openapi.json"}, {"POST", "/api/v1/articles"}, {"GET", "/api/v1/nowhere"}} {
				for _, auth := range []string{"", "Bearer ", "Bearer " + tokenA} {
					r := f.do(t, req[0], req[1], "", "Authorization", auth)
					if r.Status != 404 {
						t.Fatalf("%v with %q: status %d, want 404", req, auth, r.Status)
					}
					if e := r.errorOf(t); !strings.Contains(e["message"].(string), "API is off") {
						t.Errorf("message %q", e["message"])
					}
				}
			}
		})
	}
}

func TestAPIArticles(t *testing.T) {
	f := newAPIFixture(t, defaultTokens()...)
	// A file from the content folder, as sync stores it.
	p := article.NewParser(time.UTC, os.DirFS(f.dir))
	fileArt, err := p.Parse("2026-10-01-from-file.md", []byte("---\ntitle: From a file\ndate: 2026-10-01\n---\nFile body.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpsertArticle(context.Background(), fileArt, now); err != nil {
		t.Fatal(err)
	}

	t.Run("OKCreate", func(t *testing.T) {
		r := f.do(t, "POST", "/api/v1/articles", `{"slug":"Harbour Workshop","title":"Why <br> tags matter in Århus","date":"2026-11-20T10:00:00+01:00",`+
			`"tags":["Cluster training","WP2","wp2"],"author":"Åsa <Lindqvist>","summary":"A <b>plain</b> summary",`+
			`"image":"images/pic.png","image_alt":"A picture","body":"Hello <script>alert(1)</script> **world** <a href=\"javascript:alert(1)\">x</a>"}`)
		if r.Status != 201 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if loc := r.Header.Get("Location"); loc != "/api/v1/articles/harbour-workshop" {
			t.Errorf("Location %q", loc)
		}
		m := r.json(t)
		want := map[string]any{
			"slug": "harbour-workshop", "title": "Why <br> tags matter in Århus", "author": "Åsa <Lindqvist>",
			"summary": "A <b>plain</b> summary", "date": "2026-11-20T09:00:00Z", "status": "published", "source": "api",
			"image": "images/pic.png", "image_alt": "A picture", "url": "https://news.example.org/articles/harbour-workshop",
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s = %v, want %v", k, m[k], v)
			}
		}
		if got := m["tag_slugs"].([]any); len(got) != 2 || got[0] != "cluster-training" || got[1] != "wp2" {
			t.Errorf("tag_slugs %v", got)
		}
		html := m["body_html"].(string)
		if strings.Contains(html, "<script") || strings.Contains(html, "javascript:") || !strings.Contains(html, "<strong>world</strong>") {
			t.Errorf("body not sanitised as a file's: %s", html)
		}
		// The public page shows it, escaped.
		resp, err := http.Get(f.srv.URL + "/articles/harbour-workshop")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), "Why &lt;br&gt; tags matter in Århus") || !strings.Contains(string(page), `width="40" height="30"`) {
			t.Errorf("page: %d", resp.StatusCode)
		}
	})
	t.Run("OKGet", func(t *testing.T) {
		r := f.do(t, "GET", "/api/v1/articles/harbour-workshop", "")
		if r.Status != 200 || r.json(t)["body"] == nil || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if r := f.do(t, "HEAD", "/api/v1/articles/harbour-workshop", ""); r.Status != 200 || len(r.Body) != 0 {
			t.Errorf("HEAD: %d %q", r.Status, r.Body)
		}
	})
	t.Run("ErrConflictCreateExisting", func(t *testing.T) {
		r := f.do(t, "POST", "/api/v1/articles", articleJSON("harbour-workshop", "Again"))
		if r.Status != 409 || !strings.Contains(r.errorOf(t)["message"].(string), "PUT /api/v1/articles/harbour-workshop") {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
	t.Run("ErrConflictCreateOverFile", func(t *testing.T) {
		r := f.do(t, "POST", "/api/v1/articles", articleJSON("from-file", "Hijack"))
		if e := r.errorOf(t); r.Status != 409 || e["field"] != "slug" || !strings.Contains(e["message"].(string), "content folder file 2026-10-01-from-file.md") {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
	t.Run("OKReplace", func(t *testing.T) {
		r := f.do(t, "PUT", "/api/v1/articles/harbour-workshop", `{"title":"Harbour workshop, revised","date":"2026-11-20","body":"New body."}`)
		m := r.json(t)
		if r.Status != 200 || m["title"] != "Harbour workshop, revised" || m["summary"] != "New body." || m["image"] != nil || m["date"] != "2026-11-20T00:00:00Z" {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if m["updated"] != now.Format(time.RFC3339) {
			t.Errorf("updated %v, want now", m["updated"])
		}
	})
	t.Run("ErrSlugMismatch", func(t *testing.T) {
		r := f.do(t, "PUT", "/api/v1/articles/harbour-workshop", articleJSON("other", "X"))
		if e := r.errorOf(t); r.Status != 422 || e["field"] != "slug" {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, req := range [][3]string{
			{"GET", "/api/v1/articles/nope", ""}, {"PUT", "/api/v1/articles/nope", articleJSON("nope", "X")},
			{"PATCH", "/api/v1/articles/nope", `{"draft":true}`}, {"DELETE", "/api/v1/articles/nope", ""},
			{"GET", "/api/v1/articles/Not%20A%20Slug", ""},
		} {
			if r := f.do(t, req[0], req[1], req[2]); r.Status != 404 || r.errorOf(t)["message"] == "" {
				t.Errorf("%v: status %d: %s", req, r.Status, r.Body)
			}
		}
	})
	t.Run("OKUnpublishAndRepublish", func(t *testing.T) {
		r := f.do(t, "PATCH", "/api/v1/articles/harbour-workshop", `{"draft":true}`)
		if m := r.json(t); r.Status != 200 || m["status"] != "draft" || m["title"] != "Harbour workshop, revised" || m["summary"] != "New body." {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if resp, _ := http.Get(f.srv.URL + "/articles/harbour-workshop"); resp.StatusCode != 404 {
			t.Errorf("unpublished article still public: %d", resp.StatusCode)
		}
		// A derived summary stays derived when the body changes.
		r = f.do(t, "PATCH", "/api/v1/articles/harbour-workshop", `{"draft":false,"body":"Newer body.","tags":null}`)
		if m := r.json(t); r.Status != 200 || m["status"] != "published" || m["summary"] != "Newer body." {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
	t.Run("ErrConflictFileArticle", func(t *testing.T) {
		for _, req := range [][3]string{
			{"PUT", "/api/v1/articles/from-file", articleJSON("from-file", "X")},
			{"PATCH", "/api/v1/articles/from-file", `{"draft":true}`},
			{"DELETE", "/api/v1/articles/from-file", ""},
		} {
			r := f.do(t, req[0], req[1], req[2])
			if e := r.errorOf(t); r.Status != 409 || !strings.Contains(e["message"].(string), "edit or delete that file instead") {
				t.Errorf("%v: status %d: %s", req, r.Status, r.Body)
			}
		}
		r := f.do(t, "GET", "/api/v1/articles/from-file", "")
		if m := r.json(t); m["source"] != "file" || m["source_path"] != "2026-10-01-from-file.md" || m["title"] != "From a file" {
			t.Errorf("file article: %s", r.Body)
		}
	})
	t.Run("OKDelete", func(t *testing.T) {
		if r := f.do(t, "DELETE", "/api/v1/articles/harbour-workshop", ""); r.Status != 204 || len(r.Body) != 0 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if r := f.do(t, "GET", "/api/v1/articles/harbour-workshop", ""); r.Status != 404 {
			t.Errorf("after delete: %d", r.Status)
		}
	})
	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		r := f.do(t, "PATCH", "/api/v1/articles", `{}`)
		if r.Status != 405 || r.Header.Get("Allow") != "GET, HEAD, POST" || r.errorOf(t)["message"] == "" {
			t.Fatalf("status %d allow %q: %s", r.Status, r.Header.Get("Allow"), r.Body)
		}
	})
	t.Run("ErrNoEndpoint", func(t *testing.T) {
		r := f.do(t, "GET", "/api/v1/nowhere", "")
		if r.Status != 404 || !strings.Contains(r.errorOf(t)["message"].(string), "no such API endpoint") {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
}

func TestAPIBadBodies(t *testing.T) {
	f := newAPIFixture(t, defaultTokens()...)
	big := `{"slug":"big","title":"Big","date":"2026-11-01","body":"` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		field       string
		msg         string
	}{
		{"ErrMalformed", `{"slug":"a",`, "", 400, "", "malformed JSON"},
		{"ErrSyntax", `{"slug" "a"}`, "", 400, "", "malformed JSON at byte"},
		{"ErrEmpty", ``, "", 400, "", "empty body"},
		{"ErrNotObject", `["a"]`, "", 400, "", "must be a JSON object"},
		{"ErrUnknownField", articleJSON("a", "A", `"colour":"red"`), "", 400, "colour", `unknown field "colour"`},
		{"ErrWrongType", articleJSON("a", "A", `"draft":"yes"`), "", 400, "draft", "draft must be true or false"},
		{"ErrWrongTypeTags", `{"slug":"a","title":"A","date":"2026-11-01","tags":"x"}`, "", 400, "tags", "tags must be an array"},
		{"ErrTrailingData", articleJSON("a", "A") + ` {"x":1}`, "", 400, "", "trailing data"},
		{"ErrTrailingGarbage", articleJSON("a", "A") + `x`, "", 400, "", "trailing data"},
		{"ErrTooLarge", big, "", 413, "", "larger than 65536 bytes"},
		{"ErrContentType", articleJSON("a", "A"), "text/plain", 415, "", "application/json"},
		{"ErrSlugFromTitleNoLetters", `{"title":"?!","date":"2026-11-01"}`, "", 422, "slug", "no letters or digits to make a slug from"},
		{"ErrSlugNoLetters", `{"slug":"---","title":"A","date":"2026-11-01"}`, "", 422, "slug", "no letters or digits"},
		{"ErrTitleRequired", `{"slug":"a","title":"  ","date":"2026-11-01"}`, "", 422, "title", "title is required"},
		{"ErrDateRequired", `{"slug":"a","title":"A"}`, "", 422, "date", "date is required"},
		{"ErrDateInvalid", `{"slug":"a","title":"A","date":"13/11/2026"}`, "", 422, "date", "is not a date"},
		{"ErrUpdatedInvalid", `{"slug":"a","title":"A","date":"2026-11-01","updated":"soon"}`, "", 422, "updated", "is not a date"},
		{"ErrLink", `{"slug":"a","title":"A","date":"2026-11-01","link":"javascript:alert(1)"}`, "", 422, "link", "absolute http(s) URL"},
		{"ErrAuthorEmail", `{"slug":"a","title":"A","date":"2026-11-01","author_email":"nobody"}`, "", 422, "author_email", "not an address"},
		{"ErrImageAltWithoutImage", `{"slug":"a","title":"A","date":"2026-11-01","image_alt":"x"}`, "", 422, "image_alt", "image_alt without image"},
		{"ErrImageOutside", `{"slug":"a","title":"A","date":"2026-11-01","image":"../../etc/passwd"}`, "", 422, "image", "outside the content folder"},
		{"ErrImageMissing", `{"slug":"a","title":"A","date":"2026-11-01","image":"images/none.png"}`, "", 422, "image", "not found in the content folder"},
		{"ErrTagNoLetters", `{"slug":"a","title":"A","date":"2026-11-01","tags":["ok","!!"]}`, "", 422, "tags", "no letters or digits"},
		{"ErrTagEmpty", `{"slug":"a","title":"A","date":"2026-11-01","tags":[""]}`, "", 422, "tags", "must not be empty"},
		{"ErrTooManyTags", `{"slug":"a","title":"A","date":"2026-11-01","tags":[` + manyTags(51) + `]}`, "", 400, "tags", "more than 50 tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, "POST", "/api/v1/articles", tt.body, "Content-Type", tt.contentType)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			e := r.errorOf(t)
			if field, _ := e["field"].(string); field != tt.field {
				t.Errorf("field %q, want %q", field, tt.field)
			}
			if msg := e["message"].(string); !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q, want %q", msg, tt.msg)
			}
		})
	}
	if n, _ := f.store.ListAllArticles(context.Background(), article.ListFilter{}); len(n) != 0 {
		t.Errorf("bad bodies stored %d articles", len(n))
	}
	t.Run("OKNoContentType", func(t *testing.T) {
		if r := f.do(t, "POST", "/api/v1/articles", articleJSON("no-ct", "No content type"), "Content-Type", ""); r.Status != 201 {
			t.Errorf("status %d: %s", r.Status, r.Body)
		}
	})
}

func TestAPIListPaging(t *testing.T) {
	f := newAPIFixture(t, defaultTokens()...)
	ctx := context.Background()
	add := func(slug string, pub time.Time, draft bool, tags ...string) {
		t.Helper()
		a := &article.Article{Slug: slug, Title: "T " + slug, Published: pub, Draft: draft, Source: article.SourceAPI}
		for _, tg := range tags {
			a.Tags = append(a.Tags, article.Tag{Name: tg, Slug: article.Slugify(tg)})
		}
		if _, err := f.store.UpsertArticle(ctx, a, now); err != nil {
			t.Fatal(err)
		}
	}
	same := now.Add(-48 * time.Hour) // several share one date: the id breaks the tie
	for i, s := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		pub := now.Add(-time.Duration(i+1) * time.Hour)
		if i >= 3 {
			pub = same
		}
		add(s, pub, false, "WP2")
	}
	add("draft", now.Add(-time.Hour), true)
	add("later", now.Add(24*time.Hour), false, "WP2")
	add("gone", now.Add(-3*time.Hour), false)
	if err := f.store.SetRemoved(ctx, "gone", true); err != nil {
		t.Fatal(err)
	}

	list := func(t *testing.T, query string) ([]string, string) {
		t.Helper()
		r := f.do(t, "GET", "/api/v1/articles"+query, "")
		if r.Status != 200 {
			t.Fatalf("%s: status %d: %s", query, r.Status, r.Body)
		}
		var out struct {
			Articles []struct {
				Slug   string  `json:"slug"`
				Status string  `json:"status"`
				Body   *string `json:"body"`
			} `json:"articles"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
		var slugs []string
		for _, a := range out.Articles {
			if a.Body != nil {
				t.Errorf("list item %s has a body", a.Slug)
			}
			slugs = append(slugs, a.Slug+":"+a.Status)
		}
		return slugs, out.NextCursor
	}
	t.Run("OKFilters", func(t *testing.T) {
		tests := []struct{ query, want string }{
			{"", "later:scheduled draft:draft a:published b:published gone:removed c:published g:published f:published e:published d:published"},
			{"?status=all", "later:scheduled draft:draft a:published b:published gone:removed c:published g:published f:published e:published d:published"},
			{"?status=published&limit=3", "a:published b:published c:published"},
			{"?status=scheduled", "later:scheduled"},
			{"?status=draft", "draft:draft"},
			{"?status=removed", "gone:removed"},
			{"?tag=WP2&status=published&limit=100", "a:published b:published c:published g:published f:published e:published d:published"},
			{"?tag=nothing", ""},
		}
		for _, tt := range tests {
			got, _ := list(t, tt.query)
			if strings.Join(got, " ") != tt.want {
				t.Errorf("%s:\n got %s\nwant %s", tt.query, strings.Join(got, " "), tt.want)
			}
		}
	})
	t.Run("OKCursorStableUnderInserts", func(t *testing.T) {
		var seen []string
		page, cursor := list(t, "?status=published&limit=2")
		seen = append(seen, page...)
		// Inserts newer than the position, and at the very date of the
		// next page, change nothing of what is still to come.
		add("newest", now.Add(-time.Minute), false)
		for cursor != "" {
			page, cursor = list(t, "?status=published&limit=2&cursor="+cursor)
			seen = append(seen, page...)
		}
		want := "a:published b:published c:published g:published f:published e:published d:published"
		if strings.Join(seen, " ") != want {
			t.Errorf("pages:\n got %s\nwant %s", strings.Join(seen, " "), want)
		}
	})
	t.Run("ErrBadQuery", func(t *testing.T) {
		for q, field := range map[string]string{
			"?status=live": "status", "?limit=0": "limit", "?limit=101": "limit", "?limit=x": "limit",
			"?cursor=zzz": "cursor", "?cursor=MTIzNA": "cursor", "?tag=!!": "tag",
		} {
			r := f.do(t, "GET", "/api/v1/articles"+q, "")
			if e := r.errorOf(t); r.Status != 400 || e["field"] != field {
				t.Errorf("%s: status %d: %s", q, r.Status, r.Body)
			}
		}
	})
}

// manyTags is a JSON list of n distinct tag names.
func manyTags(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"t%d"`, i)
	}
	return b.String()
}
