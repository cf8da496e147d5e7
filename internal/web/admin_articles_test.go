package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/internal/web/admintest"
	"github.com/herald-news/herald/templates"
)

// editorFixture serves the whole site (pages, feeds, /media/u/, admin
// with the editor) over loopback on a fresh SQLite store, on a clock moved
// by hand.
type editorFixture struct {
	srv   *httptest.Server
	store *sqlite.Store
	clock *adminClock
	feeds *feed.Handler
}

func newEditorFixture(t testing.TB, maxUpload int64) *editorFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &editorFixture{store: st, clock: &adminClock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}}
	f.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + f.srv.Listener.Addr().String()
	f.feeds = feed.NewHandler(st, feed.Site{Title: "Herald Test", BaseURL: base, Language: "en", Author: "Test"},
		feed.Options{Items: 20, MaxItems: 100, CacheControl: "no-cache", Now: f.clock.Now})
	if _, err := f.feeds.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Config{Site: web.Site{Title: "Herald Test", BaseURL: base, Language: "en", Location: time.UTC},
		Store: st, Feeds: feedRoutes{f.feeds}, Media: st, Templates: templates.FS(""), Now: f.clock.Now, PageSize: 20, MaxItems: 100,
		Admin: &web.AdminConfig{Store: st, Articles: st, Parser: article.NewParser(time.UTC, nil),
			Media: &media.Service{Store: st, Limit: maxUpload, Now: f.clock.Now}, MaxUpload: maxUpload}})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Config.Handler = s
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

// refresh is what serve's store watcher does after a write.
func (f *editorFixture) refresh(t testing.TB) {
	t.Helper()
	if _, err := f.feeds.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// testJPEG is a w×h JPEG with a gradient.
func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 120, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// postMultipart sends fields and, if data is set, the file fileField.
func postMultipart(t testing.TB, c *http.Client, u string, fields url.Values, fileField, name string, data []byte) (*http.Response, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if data != nil {
		fw, _ := mw.CreateFormFile(fileField, name)
		fw.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, u, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func articleFields(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// TestAdminEditorHandlers: every editor handler over real HTTP on a real
// store: validation with nothing lost, the actions, conflicts, file
// articles read-only, revisions and restore, delete's confirmation,
// uploads, the list's filters and paging, roles, the audit log.
func TestAdminEditorHandlers(t *testing.T) {
	f := newEditorFixture(t, 200<<10)
	ctx := context.Background()
	ed, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{At: f.clock.Now(), Email: "ed@example.org"})
	other, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{At: f.clock.Now(), Email: "eve@example.org"})
	base := f.srv.URL

	// Not signed in: to the login page.
	resp, _ := do(t, &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, "GET", base+"/admin/articles", nil)
	wantRedirect(t, resp, "/admin/login?next=%2Fadmin%2Farticles", "anonymous list")

	resp, body := do(t, ed, "GET", base+"/admin/articles/new", nil)
	wantStatus(t, resp, body, 200, "new form")

	// Invalid: the parser's messages next to the fields, every value kept.
	resp, body = do(t, ed, "POST", base+"/admin/articles/new", articleFields("action", "publish", "title", "Hello <world>",
		"date", "2026-12-06", "tags", "one, two", "image", "/media/u/0123456789abcdef0123456789abcdef.jpg", "link", "not a url",
		"body", "Typed *text* kept"))
	wantStatus(t, resp, body, 422, "invalid create")
	for _, want := range []string{`id="image_alt-error"`, `href="#image_alt"`, "Typed *text* kept", `value="one, two"`, `Hello &lt;world&gt;`} {
		if !strings.Contains(body, want) {
			t.Errorf("invalid create: no %q in the page", want)
		}
	}

	// Preview without JavaScript: the sanitised body, nothing stored.
	resp, body = do(t, ed, "POST", base+"/admin/articles/new", articleFields("action", "preview", "title", "P", "date", "2026-12-06",
		"body", "Hi **there** <script>alert(1)</script>"))
	wantStatus(t, resp, body, 200, "preview")
	if !strings.Contains(body, "<strong>there</strong>") || strings.Contains(body, "<script>alert") {
		t.Errorf("preview not rendered and sanitised:\n%s", body)
	}
	// The live preview's endpoint.
	resp, body = do(t, ed, "POST", base+"/admin/articles/new/preview", articleFields("title", "P", "date", "x", "body", "*a* <img src=x onerror=alert(1)>"))
	wantStatus(t, resp, body, 200, "preview endpoint")
	var pv struct {
		HTML   string `json:"html"`
		Errors []struct{ Field string }
	}
	if err := json.Unmarshal([]byte(body), &pv); err != nil || !strings.Contains(pv.HTML, `<em>a</em>`) || strings.Contains(pv.HTML, "onerror") ||
		len(pv.Errors) != 1 || pv.Errors[0].Field != "date" {
		t.Errorf("preview endpoint: %s", body)
	}

	// Publish with an uploaded image.
	jpg := testJPEG(t, 1300, 400)
	resp, _ = postMultipart(t, ed, base+"/admin/articles/new", articleFields("action", "publish", "title", "First news",
		"date", "2026-12-01", "tags", "Local, Sport", "image_alt", "A gradient", "body", "The body."), "image_upload", "pic.jpg", jpg)
	wantRedirect(t, resp, "/admin/articles/first-news", "publish")
	ar, err := f.store.GetArticle(ctx, "first-news")
	if err != nil {
		t.Fatal(err)
	}
	if ar.Draft || !ar.Published.Equal(f.clock.Now()) || ar.Image == nil || !ar.Image.Upload() || len(ar.Tags) != 2 {
		t.Fatalf("published article: draft %v at %v image %+v tags %v", ar.Draft, ar.Published, ar.Image, ar.Tags)
	}
	// Too large an upload: a clear message, the fields kept.
	resp, body = postMultipart(t, ed, base+"/admin/articles/new", articleFields("action", "draft", "title", "Big one", "date", "2026-12-01"),
		"image_upload", "big.jpg", bytes.Repeat([]byte{0xff}, 210<<10))
	wantStatus(t, resp, body, 422, "upload over the limit")
	if !strings.Contains(body, "upload limit") || !strings.Contains(body, `value="Big one"`) {
		t.Errorf("upload over the limit:\n%s", body)
	}

	// Edit: conflict when someone saved meanwhile; both versions reachable.
	resp, body = do(t, ed, "GET", base+"/admin/articles/first-news", nil)
	wantStatus(t, resp, body, 200, "edit page")
	v1 := formValue(t, body, "base")
	// The field stays empty (a save moves the time); the hint says when.
	if want := "Last changed " + ar.Updated.UTC().Format("2006-01-02 15:04") + " UTC"; !strings.Contains(body, want) {
		t.Errorf("edit page: no %q", want)
	}
	edit := func(c *http.Client, baseV, text string) (*http.Response, string) {
		return do(t, c, "POST", base+"/admin/articles/first-news", articleFields("action", "save", "base", baseV, "title", "First news",
			"date", ar.Published.Format(time.RFC3339), "tags", "Local, Sport", "image", ar.Image.Ref(), "image_alt", "A gradient", "body", text))
	}
	resp, _ = edit(other, v1, "Eve's body.")
	wantRedirect(t, resp, "/admin/articles/first-news", "eve's edit")
	resp, body = edit(ed, v1, "Ed's body.")
	wantStatus(t, resp, body, 409, "conflicting edit")
	if !strings.Contains(body, "Ed&#39;s body.") || !strings.Contains(body, "eve@example.org") || !strings.Contains(body, "/admin/articles/first-news/revisions/") {
		t.Errorf("conflict page:\n%s", body)
	}
	resp, _ = edit(ed, formValue(t, body, "base"), "Ed's body.")
	wantRedirect(t, resp, "/admin/articles/first-news", "edit over theirs")

	// Revisions: view one, restore it.
	revs, err := f.store.ArticleRevisions(ctx, "first-news")
	if err != nil || len(revs) != 3 {
		t.Fatalf("revisions %v %v", revs, err)
	}
	first := "/revisions/" + strconv.FormatInt(revs[2].ID, 10)
	resp, body = do(t, ed, "GET", base+"/admin/articles/first-news"+first, nil)
	wantStatus(t, resp, body, 200, "revision page")
	if !strings.Contains(body, "The body.") {
		t.Errorf("revision page lacks its body")
	}
	resp, _ = do(t, ed, "POST", base+"/admin/articles/first-news"+first+"/restore", url.Values{"base": {formValue(t, body, "base")}})
	wantRedirect(t, resp, "/admin/articles/first-news", "restore")
	if ar, _ := f.store.GetArticle(ctx, "first-news"); ar.Body != "The body." {
		t.Errorf("restored body %q", ar.Body)
	}

	// Schedule: the date must be in the future.
	sched := articleFields("action", "schedule", "title", "Later news", "date", "2026-12-01", "body", "Soon.")
	resp, body = do(t, ed, "POST", base+"/admin/articles/new", sched)
	wantStatus(t, resp, body, 422, "schedule in the past")
	if !strings.Contains(body, `id="date-error"`) {
		t.Errorf("schedule in the past: no date error")
	}
	sched.Set("date", "2026-12-24T09:00:00Z")
	resp, _ = do(t, ed, "POST", base+"/admin/articles/new", sched)
	wantRedirect(t, resp, "/admin/articles/later-news", "schedule")
	if ar, _ := f.store.GetArticle(ctx, "later-news"); ar.State(f.clock.Now()) != article.StateScheduled {
		t.Errorf("scheduled article is %s", ar.State(f.clock.Now()))
	}
	_, body = do(t, ed, "GET", base+"/admin/articles/later-news", nil)
	resp, _ = do(t, ed, "POST", base+"/admin/articles/later-news/unpublish", url.Values{"base": {formValue(t, body, "base")}})
	wantRedirect(t, resp, "/admin/articles/later-news", "unpublish")
	if ar, _ := f.store.GetArticle(ctx, "later-news"); !ar.Draft {
		t.Error("unpublished article is not a draft")
	}

	// Delete: the typed slug confirms.
	resp, body = do(t, ed, "POST", base+"/admin/articles/later-news/delete", url.Values{"confirm": {"nope"}})
	wantStatus(t, resp, body, 422, "delete unconfirmed")
	resp, _ = do(t, ed, "POST", base+"/admin/articles/later-news/delete", url.Values{"confirm": {"later-news"}})
	wantRedirect(t, resp, "/admin/articles", "delete")
	resp, body = do(t, ed, "GET", base+"/admin/articles/later-news", nil)
	wantStatus(t, resp, body, 404, "deleted article")

	// A content-folder article shows its file and refuses writes.
	file := &article.Article{Slug: "from-file", Title: "From a file", Published: f.clock.Now().Add(-time.Hour), Body: "x", BodyHTML: "<p>x</p>",
		Source: article.SourceFile, SourcePath: "2026/from-file.md", ContentHash: "h"}
	if _, err := f.store.UpsertArticle(ctx, file, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	resp, body = do(t, ed, "GET", base+"/admin/articles/from-file", nil)
	wantStatus(t, resp, body, 200, "file article")
	if !strings.Contains(body, "2026/from-file.md") || !strings.Contains(body, "<fieldset disabled>") {
		t.Errorf("file article not read-only:\n%s", body)
	}
	resp, body = do(t, ed, "POST", base+"/admin/articles/from-file", articleFields("action", "save", "title", "X", "date", "2026-12-01"))
	wantStatus(t, resp, body, 409, "write to a file article")

	// The list: statuses, sources, filters, paging.
	resp, body = do(t, ed, "GET", base+"/admin/articles", nil)
	wantStatus(t, resp, body, 200, "list")
	for _, want := range []string{"First news", "2026/from-file.md", "published", "Sport"} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	_, body = do(t, ed, "GET", base+"/admin/articles?tag=sport&q=first&status=published", nil)
	if !strings.Contains(body, "First news") || strings.Contains(body, "From a file") {
		t.Errorf("filtered list:\n%s", body)
	}
	resp, body = do(t, ed, "GET", base+"/admin/articles?status=bogus", nil)
	wantStatus(t, resp, body, 400, "bad status")

	// Media: listed with its use; in use cannot be deleted.
	resp, body = do(t, ed, "GET", base+"/admin/media", nil)
	wantStatus(t, resp, body, 200, "media")
	if !strings.HasSuffix(ar.Image.Ref(), "-1200.jpg") {
		t.Errorf("article image %s, want the 1200 px derivative", ar.Image.Ref())
	}
	hash := strings.TrimPrefix(ar.Image.Ref(), "/media/u/")[:32]
	if !strings.Contains(body, "First news") || !strings.Contains(body, hash+"-600.jpg") {
		t.Errorf("media list:\n%s", body)
	}
	resp, body = do(t, ed, "POST", base+"/admin/media/"+hash+"/delete", url.Values{})
	wantStatus(t, resp, body, 409, "delete used image")
	resp, _ = postMultipart(t, ed, base+"/admin/media", nil, "file", "small.jpg", testJPEG(t, 50, 40))
	wantRedirect(t, resp, "/admin/media", "upload")
	resp, body = postMultipart(t, ed, base+"/admin/media", nil, "file", "notes.txt", []byte("hello"))
	wantStatus(t, resp, body, 422, "upload a text file")
	if !strings.Contains(body, "JPEG, PNG, WebP or GIF") {
		t.Errorf("text upload message:\n%s", body)
	}

	// Every write is in the audit log.
	entries, err := f.store.AuditBefore(ctx, time.Time{}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Action] = true
	}
	for _, want := range []string{"article.publish", "article.save", "article.restore", "article.schedule", "article.unpublish", "article.delete", "media.upload"} {
		if !got[want] {
			t.Errorf("audit log lacks %s: %v", want, got)
		}
	}

	// Cross-origin posts are refused.
	resp, body = do(t, ed, "POST", base+"/admin/articles/first-news/delete", url.Values{"confirm": {"first-news"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	wantStatus(t, resp, body, 403, "cross-origin delete")
}

// formValue is the value of the first input named name in page.
func formValue(t testing.TB, page, name string) string {
	t.Helper()
	i := strings.Index(page, `name="`+name+`" value="`)
	if i < 0 {
		t.Fatalf("no input %s in the page", name)
	}
	rest := page[i+len(`name="`+name+`" value="`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestAdminEditorRoles: the editor's pages open to every role from
// editor up; a server without the editor wired answers 404 there.
func TestAdminEditorRoles(t *testing.T) {
	f := newEditorFixture(t, 0)
	for _, role := range []string{"editor", "manager", "owner"} {
		c, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: role, At: f.clock.Now()})
		for _, p := range []string{"/admin/articles", "/admin/articles/new", "/admin/media"} {
			resp, body := do(t, c, "GET", f.srv.URL+p, nil)
			wantStatus(t, resp, body, 200, role+" "+p)
		}
	}
	off := newAdminFixture(t, "", web.AdminConfig{})
	c, _ := admintest.Login(t, off.store, off.srv.URL, admintest.User{At: off.clock.Now()})
	for _, p := range []string{"/admin/articles", "/admin/media"} {
		resp, body := do(t, c, "GET", off.srv.URL+p, nil)
		wantStatus(t, resp, body, 404, "no editor: "+p)
	}
}
