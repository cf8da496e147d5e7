package feed

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
)

// newStore opens a real SQLite store in a temporary folder.
func newStore(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// storeArticle writes a copy of a as an API article.
func storeArticle(t testing.TB, s *sqlite.Store, a article.Article) {
	t.Helper()
	a.Source = article.SourceAPI
	a.ContentHash = fmt.Sprintf("%s-%d-%s", a.Slug, a.Updated.UnixNano(), a.Title)
	if _, err := s.UpsertArticle(context.Background(), &a, fixedNow()); err != nil {
		t.Fatal(err)
	}
}

// numbered makes n articles, newest first, tagged "even" or "odd" and
// all "news".
func numbered(n int) []article.Article {
	out := make([]article.Article, n)
	for i := range out {
		p := fixedNow().Add(-time.Duration(i+1) * time.Hour)
		parity := article.Tag{Name: "Odd", Slug: "odd"}
		if i%2 == 0 {
			parity = article.Tag{Name: "Even", Slug: "even"}
		}
		out[i] = article.Article{
			Slug: fmt.Sprintf("a%03d", i), Title: fmt.Sprintf("Article %d", i), Summary: "S",
			BodyHTML: `<p>Body <img src="/media/x.jpg"></p>`, Published: p, Updated: p,
			Tags: []article.Tag{{Name: "News", Slug: "news"}, parity},
		}
	}
	return out
}

type fixture struct {
	t     *testing.T
	store *sqlite.Store
	h     *Handler
	srv   *httptest.Server
	c     *http.Client
	now   time.Time
	mu    sync.Mutex
}

func (fx *fixture) clock() time.Time {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return fx.now
}

// newFixture serves a Handler over a real store on loopback, with the
// feed routes as Herald registers them.
func newFixture(t *testing.T, opts Options, hubs ...string) *fixture {
	fx := &fixture{t: t, store: newStore(t), now: fixedNow()}
	mux := http.NewServeMux()
	fx.srv = httptest.NewServer(mux)
	t.Cleanup(fx.srv.Close)
	// No transparent gzip: the tests look at what goes over the wire.
	fx.c = &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	site := testSite()
	site.BaseURL = fx.srv.URL
	site.Hubs = hubs
	opts.Now = fx.clock
	fx.h = NewHandler(fx.store, site, opts)
	for _, f := range Formats() {
		mux.Handle("/feed."+f.Ext(), fx.h.Site(f))
		mux.Handle("/tags/{slug}/feed."+f.Ext(), fx.h.Tag(f))
	}
	return fx
}

func (fx *fixture) refresh() []string {
	fx.t.Helper()
	changed, err := fx.h.Refresh(context.Background())
	if err != nil {
		fx.t.Fatal(err)
	}
	return changed
}

// get requests path with headers ("Key: value") and returns the response
// with its body read.
func (fx *fixture) do(method, path string, headers ...string) (*http.Response, []byte) {
	fx.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = fx.srv.URL + path
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		fx.t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	resp, err := fx.c.Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fx.t.Fatal(err)
	}
	return resp, body
}

func (fx *fixture) get(path string, headers ...string) (*http.Response, []byte) {
	fx.t.Helper()
	return fx.do(http.MethodGet, path, headers...)
}

func TestHandlerServe(t *testing.T) {
	fx := newFixture(t, Options{AllowedOrigins: []string{"*"}})
	for _, a := range testArticles() {
		storeArticle(t, fx.store, a)
	}
	fx.refresh()
	for _, f := range Formats() {
		for _, path := range []string{"/feed." + f.Ext(), "/tags/alesund/feed." + f.Ext()} {
			t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
				resp, body := fx.get(path, "Accept-Encoding: identity")
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != f.ContentType() {
					t.Errorf("Content-Type = %q, want %q", ct, f.ContentType())
				}
				if resp.TransferEncoding != nil || resp.ContentLength != int64(len(body)) {
					t.Errorf("TransferEncoding = %v, ContentLength = %d for %d bytes: want a plain Content-Length",
						resp.TransferEncoding, resp.ContentLength, len(body))
				}
				for k, want := range map[string]string{"Vary": "Accept-Encoding", "Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"} {
					if got := resp.Header.Get(k); got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
				if resp.Header.Get("Last-Modified") == "" || !strings.HasPrefix(resp.Header.Get("ETag"), `"`) {
					t.Errorf("Last-Modified %q, ETag %q", resp.Header.Get("Last-Modified"), resp.Header.Get("ETag"))
				}
				w3cRules(t, f, body, fx.srv.URL+path, paging{})
				items := parse(t, body).Items
				if strings.Contains(path, "alesund") && len(items) != 1 {
					t.Errorf("tag feed has %d items, want 1", len(items))
				}
			})
		}
	}
	t.Run("RoundTrip", func(t *testing.T) {
		for _, f := range Formats() {
			_, body := fx.get("/feed." + f.Ext())
			site := testSite()
			site.BaseURL = fx.srv.URL
			got := parse(t, body)
			for _, it := range got.Items {
				it.GUID = strings.Replace(it.GUID, "tag:127.0.0.1,", "tag:news.example.org,", 1)
			}
			want := testArticles()
			for i := range want {
				want[i].FirstSeen = fixedNow() // when storeArticle wrote them
			}
			compareParsed(t, f, got, site, want)
		}
	})
	t.Run("BytesMatchServer", func(t *testing.T) {
		for _, v := range []Variant{{Format: Atom}, {Format: RSS, Tag: "Ålesund"}, {Format: JSON, Tags: []string{"alesund", "mat-dryck"}, Limit: 2}} {
			b, err := fx.h.Bytes(context.Background(), v)
			if err != nil {
				t.Fatal(err)
			}
			v, _ = v.normalize(20, 100)
			_, body := fx.get(strings.TrimPrefix(v.url(fx.srv.URL, 20, 1), fx.srv.URL))
			if !bytes.Equal(b, body) {
				t.Errorf("%+v: Bytes differs from the served body", v)
			}
		}
	})
}

func TestHandlerConditional(t *testing.T) {
	fx := newFixture(t, Options{})
	for _, a := range testArticles() {
		storeArticle(t, fx.store, a)
	}
	fx.refresh()
	for _, path := range []string{"/feed.atom", "/feed.rss?limit=2"} {
		plain, body := fx.get(path, "Accept-Encoding: identity")
		zipped, zbody := fx.get(path, "Accept-Encoding: gzip, deflate, br")
		etag, zetag := plain.Header.Get("ETag"), zipped.Header.Get("ETag")
		t.Run("GzipETagDiffers"+path, func(t *testing.T) {
			if zipped.Header.Get("Content-Encoding") != "gzip" || plain.Header.Get("Content-Encoding") != "" {
				t.Fatalf("Content-Encoding: gzip %q, identity %q", zipped.Header.Get("Content-Encoding"), plain.Header.Get("Content-Encoding"))
			}
			if etag == zetag || etag == "" || zetag == "" {
				t.Errorf("ETags identity %s, gzip %s: want two different strong ETags", etag, zetag)
			}
			zr, err := gzip.NewReader(bytes.NewReader(zbody))
			if err != nil {
				t.Fatal(err)
			}
			unz, _ := io.ReadAll(zr)
			if !bytes.Equal(unz, body) {
				t.Error("gunzipped body differs from identity body")
			}
			if zipped.ContentLength != int64(len(zbody)) || zipped.TransferEncoding != nil {
				t.Errorf("gzip response: ContentLength %d for %d bytes, TransferEncoding %v", zipped.ContentLength, len(zbody), zipped.TransferEncoding)
			}
		})
		lm := plain.Header.Get("Last-Modified")
		tests := []struct {
			name    string
			headers []string
			want    int
		}{
			{"IfNoneMatch", []string{"If-None-Match: " + etag}, 304},
			{"IfNoneMatchWeak", []string{"If-None-Match: W/" + etag}, 304},
			{"IfNoneMatchList", []string{`If-None-Match: "nope", ` + etag}, 304},
			{"IfNoneMatchStar", []string{"If-None-Match: *"}, 304},
			{"IfNoneMatchOther", []string{`If-None-Match: "nope"`}, 200},
			{"IfNoneMatchGzipETagOnIdentity", []string{"If-None-Match: " + zetag}, 200},
			{"IfNoneMatchGzip", []string{"If-None-Match: " + zetag, "Accept-Encoding: gzip"}, 304},
			{"IfModifiedSince", []string{"If-Modified-Since: " + lm}, 304},
			{"IfModifiedSinceLater", []string{"If-Modified-Since: " + time.Now().UTC().Format(http.TimeFormat)}, 304},
			{"IfModifiedSinceEarlier", []string{"If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT"}, 200},
			{"IfNoneMatchWins", []string{`If-None-Match: "nope"`, "If-Modified-Since: " + lm}, 200},
			{"GzipQZero", []string{"Accept-Encoding: gzip;q=0, identity", "If-None-Match: " + etag}, 304},
		}
		for _, tt := range tests {
			t.Run(tt.name+path, func(t *testing.T) {
				resp, b := fx.get(path, tt.headers...)
				if resp.StatusCode != tt.want {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
				}
				if tt.want == 304 && (len(b) != 0 || resp.Header.Get("ETag") == "" || resp.Header.Get("Vary") == "") {
					t.Errorf("304 with body %d bytes, ETag %q, Vary %q", len(b), resp.Header.Get("ETag"), resp.Header.Get("Vary"))
				}
			})
		}
		t.Run("Head"+path, func(t *testing.T) {
			resp, b := fx.do(http.MethodHead, path, "Accept-Encoding: identity")
			if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != int64(len(body)) || resp.Header.Get("ETag") != etag {
				t.Errorf("HEAD: status %d, %d body bytes, Content-Length %d (want %d), ETag %q",
					resp.StatusCode, len(b), resp.ContentLength, len(body), resp.Header.Get("ETag"))
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false}, {"gzip", true}, {"GZIP", true}, {"deflate, gzip;q=0.5", true}, {"gzip;q=0", false},
		{"gzip; q=0.000", false}, {"gzip;q=0.001", true}, {"*", true}, {"*;q=0", false}, {"gzip;q=0, *", false},
		{"br, *;q=0.1", true}, {"identity", false}, {"x-gzip", true},
	}
	for _, tt := range tests {
		var vals []string
		if tt.in != "" {
			vals = []string{tt.in}
		}
		if got := acceptsGzip(vals); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestHandlerCORS(t *testing.T) {
	fx := newFixture(t, Options{AllowedOrigins: []string{"https://partner.example"}})
	storeArticle(t, fx.store, testArticles()[0])
	fx.refresh()
	t.Run("Listed", func(t *testing.T) {
		resp, _ := fx.get("/feed.json", "Origin: https://partner.example")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://partner.example" {
			t.Errorf("ACAO = %q", got)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Origin") {
			t.Errorf("Vary = %q, want Origin in it", resp.Header.Get("Vary"))
		}
	})
	t.Run("NotListed", func(t *testing.T) {
		resp, _ := fx.get("/feed.json", "Origin: https://evil.example")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("ACAO = %q, want none", got)
		}
	})
	t.Run("Preflight", func(t *testing.T) {
		resp, _ := fx.do(http.MethodOptions, "/feed.json", "Origin: https://partner.example",
			"Access-Control-Request-Method: GET", "Access-Control-Request-Headers: if-none-match")
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://partner.example" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "GET") ||
			resp.Header.Get("Access-Control-Allow-Headers") != "if-none-match" {
			t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("ErrMethod", func(t *testing.T) {
		resp, _ := fx.do(http.MethodPost, "/feed.json")
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
			t.Errorf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
}

func TestHandlerParams(t *testing.T) {
	fx := newFixture(t, Options{Items: 5, MaxItems: 10})
	for _, a := range numbered(12) {
		storeArticle(t, fx.store, a)
	}
	fx.refresh()
	tests := []struct {
		name, path string
		want       int
		items      int
		location   string
	}{
		{"OK", "/feed.atom", 200, 5, ""},
		{"Limit", "/feed.atom?limit=3", 200, 3, ""},
		{"LimitMax", "/feed.atom?limit=10", 200, 10, ""},
		{"ErrLimitZero", "/feed.atom?limit=0", 400, 0, ""},
		{"ErrLimitTooLarge", "/feed.atom?limit=11", 400, 0, ""},
		{"ErrLimitNotNumber", "/feed.atom?limit=ten", 400, 0, ""},
		{"ErrPageZero", "/feed.atom?page=0", 400, 0, ""},
		{"ErrPagePastEnd", "/feed.atom?page=4", 404, 0, ""},
		{"LastPage", "/feed.atom?page=3", 200, 2, ""},
		{"Tags", "/feed.rss?tags=even", 200, 5, ""},
		{"TagsAnyOf", "/feed.rss?tags=even,odd&limit=10", 200, 10, ""},
		{"TagPath", "/tags/odd/feed.json", 200, 5, ""},
		{"ErrUnknownTag", "/tags/nope/feed.json", 404, 0, ""},
		{"ErrUnknownTagQuery", "/feed.json?tags=even,nope", 404, 0, ""},
		{"CanonicalDefaultLimit", "/feed.atom?limit=5", 301, 0, "/feed.atom"},
		{"CanonicalOrder", "/feed.atom?limit=3&tags=odd,even", 301, 0, "/feed.atom?tags=even,odd&limit=3"},
		{"CanonicalUnknownParam", "/feed.atom?utm_source=x", 301, 0, "/feed.atom"},
		{"CanonicalPageOne", "/tags/odd/feed.atom?page=1", 301, 0, "/tags/odd/feed.atom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fx.get(tt.path)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.location != "" && resp.Header.Get("Location") != tt.location {
				t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), tt.location)
			}
			if tt.want == 200 {
				if n := len(parse(t, body).Items); n != tt.items {
					t.Errorf("items = %d, want %d", n, tt.items)
				}
				w3cRules(t, Format(strings.TrimPrefix(filepath.Ext(strings.Split(tt.path, "?")[0]), ".")), body, fx.srv.URL+tt.path, pagingOf(t, body))
			}
		})
	}
}

// pagingOf reads a document's own paging links, so w3cRules checks the
// rest of the rules; TestHandlerPaging checks the links themselves.
func pagingOf(t *testing.T, body []byte) paging {
	var p paging
	if bytes.HasPrefix(body, []byte("{")) {
		var j jsonCheck
		json.Unmarshal(body, &j)
		p.next = j.NextURL
		return p
	}
	var a struct {
		Links []xmlLink `xml:"link"`
		Ch    struct {
			Links []xmlLink `xml:"link"`
		} `xml:"channel"`
	}
	xml.Unmarshal(body, &a)
	for _, l := range append(a.Links, a.Ch.Links...) {
		switch l.Rel {
		case "first":
			p.first = l.Href
		case "previous":
			p.prev = l.Href
		case "next":
			p.next = l.Href
		case "last":
			p.last = l.Href
		}
	}
	return p
}

// TestHandlerPaging follows next links from page 1 to the end and must
// see every article exactly once, in every format.
func TestHandlerPaging(t *testing.T) {
	fx := newFixture(t, Options{Items: 4})
	all := numbered(23)
	for _, a := range all {
		storeArticle(t, fx.store, a)
	}
	fx.refresh()
	for _, f := range Formats() {
		for _, start := range []string{"/feed." + f.Ext(), "/tags/news/feed." + f.Ext() + "?limit=7"} {
			t.Run(string(f)+start, func(t *testing.T) {
				seen := map[string]int{}
				next, pages := fx.srv.URL+start, 0
				var first, last string
				for next != "" {
					pages++
					if pages > 30 {
						t.Fatal("paging does not end")
					}
					resp, body := fx.get(next)
					if resp.StatusCode != 200 {
						t.Fatalf("%s: status %d", next, resp.StatusCode)
					}
					pg := pagingOf(t, body)
					w3cRules(t, f, body, next, pg)
					if f != JSON {
						if pages == 1 {
							first, last = pg.first, pg.last
						} else if pg.first != first || pg.last != last || pg.prev == "" {
							t.Errorf("page %d: first %q last %q prev %q", pages, pg.first, pg.last, pg.prev)
						}
					}
					for _, it := range parse(t, body).Items {
						seen[it.GUID]++
					}
					next = pg.next
				}
				if len(seen) != len(all) {
					t.Errorf("saw %d distinct articles, want %d", len(seen), len(all))
				}
				for id, n := range seen {
					if n != 1 {
						t.Errorf("%s seen %d times", id, n)
					}
				}
				if f != JSON && last != "" {
					if _, body := fx.get(last); len(pagingOf(t, body).next) != 0 {
						t.Error("last page has a next link")
					}
				}
			})
		}
	}
}

func TestHandlerRefresh(t *testing.T) {
	fx := newFixture(t, Options{}, "https://hub.example.com/")
	arts := testArticles()
	storeArticle(t, fx.store, arts[1])
	first := fx.refresh()
	if len(first) != 6 { // site + cluster-training, three formats each
		t.Errorf("first Refresh changed %d feeds, want 6: %q", len(first), first)
	}
	_, before := fx.get("/feed.atom")
	resp, _ := fx.get("/feed.atom?limit=1")
	if resp.StatusCode != 200 || fx.h.lru.len() != 1 {
		t.Fatalf("on-demand variant not cached: %d, lru %d", resp.StatusCode, fx.h.lru.len())
	}
	if link := resp.Header.Get("Link"); link != `<https://hub.example.com/>; rel="hub", <`+fx.srv.URL+`/feed.atom?limit=1>; rel="self"` {
		t.Errorf("Link = %q", link)
	}
	t.Run("Unchanged", func(t *testing.T) {
		if changed := fx.refresh(); len(changed) != 0 {
			t.Errorf("unchanged Refresh reported %q", changed)
		}
		if fx.h.lru.len() != 0 {
			t.Error("Refresh left the LRU filled")
		}
	})
	t.Run("NewArticle", func(t *testing.T) {
		storeArticle(t, fx.store, arts[0]) // tags mat-dryck, alesund; newer than arts[1]
		changed := fx.refresh()
		var want []string
		for _, p := range []string{"", "/tags/alesund", "/tags/mat-dryck"} {
			for _, f := range Formats() {
				want = append(want, fx.srv.URL+p+"/feed."+f.Ext())
			}
		}
		slices.Sort(want)
		if !slices.Equal(changed, want) {
			t.Errorf("changed = %q\nwant      %q", changed, want)
		}
		_, after := fx.get("/feed.atom")
		if bytes.Equal(before, after) || len(parse(t, after).Items) != 2 {
			t.Error("served feed did not pick up the new article")
		}
	})
	t.Run("FutureArticle", func(t *testing.T) {
		future := numbered(1)[0]
		future.Slug, future.Published = "future", fixedNow().Add(time.Hour)
		future.Updated = future.Published
		storeArticle(t, fx.store, future)
		if changed := fx.refresh(); len(changed) != 0 {
			t.Errorf("a future article changed %q", changed)
		}
		fx.mu.Lock()
		fx.now = fixedNow().Add(2 * time.Hour)
		fx.mu.Unlock()
		if changed := fx.refresh(); len(changed) == 0 {
			t.Error("the article's publication time passed, but nothing changed")
		}
	})
}

// TestHandlerConcurrent serves while refreshing: run with -race.
func TestHandlerConcurrent(t *testing.T) {
	fx := newFixture(t, Options{LRUSize: 3})
	for _, a := range numbered(10) {
		storeArticle(t, fx.store, a)
	}
	fx.refresh()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				path := fmt.Sprintf("/feed.atom?limit=%d", 1+(g+i)%7)
				if i%3 == 0 {
					path = "/tags/even/feed.rss"
				}
				if resp, _ := fx.get(path); resp.StatusCode != 200 {
					t.Errorf("%s: %d", path, resp.StatusCode)
				}
			}
		})
	}
	for range 5 {
		fx.refresh()
	}
	wg.Wait()
	if n := fx.h.lru.len(); n > 3 {
		t.Errorf("LRU holds %d, want at most 3", n)
	}
}
