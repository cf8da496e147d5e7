package postgres_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/postgres"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/testenv"
)

// feedStore is what this test writes through and the feed handler reads.
type feedStore interface {
	feed.Source
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
	SetRemoved(ctx context.Context, slug string, removed bool) error
	FixFeedAuthority(ctx context.Context, authority string) (string, error)
}

// TestFeedBytesMatch: the same writes into SQLite and PostgreSQL give
// byte-identical feeds, with the same ETag and Last-Modified, in every
// format, for the site, each tag, several tags and a later page.
func TestFeedBytesMatch(t *testing.T) {
	ctx := context.Background()
	lite, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	pg, err := postgres.Open(ctx, testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })

	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	tag := func(names ...string) []article.Tag {
		var out []article.Tag
		for _, n := range names {
			out = append(out, article.Tag{Name: n, Slug: article.Slugify(n)})
		}
		return out
	}
	arts := []article.Article{
		{Slug: "partner-meeting", Title: "Partner meeting in Göteborg", Summary: "Six partners & a plan",
			Body: "Hello", BodyHTML: "<p>Hello <em>partners</em></p>", AuthorName: "Åsa Lindqvist", AuthorEmail: "asa@example.org",
			Published: time.Date(2026, 10, 8, 23, 30, 0, 0, time.FixedZone("-02", -2*3600)), Tags: tag("WP2", "Göteborg", "alpha"),
			Image: &article.Image{MediaPath: "img/meeting.jpg", Alt: "The partners", Width: 800, Height: 600}},
		{Slug: "deliverable", Title: "Deliverable D2.1 <out>", Summary: "PDF", BodyHTML: "<p>See <a href=\"/x\">x</a></p>",
			Published: now.AddDate(0, 0, -5), Tags: tag("Beta", "wp2"), Link: "https://elsewhere.example/d21"},
		{Slug: "same-time-a", Title: "Same time A", BodyHTML: "<p>A</p>", Published: now.AddDate(0, 0, -3), Tags: tag("Zulu", "émile")},
		{Slug: "same-time-b", Title: "Same time B", BodyHTML: "<p>B</p>", Published: now.AddDate(0, 0, -3), Tags: tag("zeta", "Alpha")},
		{Slug: "draft", Title: "Draft", BodyHTML: "<p>D</p>", Published: now.AddDate(0, 0, -2), Draft: true, Tags: tag("WP2")},
		{Slug: "gone", Title: "Gone", BodyHTML: "<p>G</p>", Published: now.AddDate(0, 0, -1), Tags: tag("WP2")},
		{Slug: "scheduled", Title: "Scheduled", BodyHTML: "<p>S</p>", Published: now.Add(time.Hour), Tags: tag("WP2")},
		{Slug: "edited", Title: "Edited", BodyHTML: "<p>E1</p>", Published: now.AddDate(0, 0, -20), Tags: tag("Beta")},
	}
	for _, s := range []feedStore{lite, pg} {
		for i, a := range arts {
			a := a
			a.Source, a.SourcePath, a.ContentHash = article.SourceFile, a.Slug+".md", a.Slug
			if _, err := s.UpsertArticle(ctx, &a, now.Add(time.Duration(i-20)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		e := arts[len(arts)-1]
		e.BodyHTML, e.ContentHash, e.Source, e.SourcePath = "<p>E2</p>", "edited-2", article.SourceFile, "edited.md"
		if _, err := s.UpsertArticle(ctx, &e, now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FixFeedAuthority(ctx, "news.example.org"); err != nil {
			t.Fatal(err)
		}
	}
	// SetRemoved stamps the feeds' change time with the real clock (to the
	// second): remove on both stores within one second, retrying the pair
	// on a machine too busy to do both in one.
	for try := 0; ; try++ {
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		start := time.Now().Unix()
		for _, s := range []feedStore{lite, pg} {
			if err := s.SetRemoved(ctx, "gone", try%2 == 0); err != nil {
				t.Fatal(err)
			}
		}
		if time.Now().Unix() == start && try%2 == 0 {
			break
		}
		if try > 20 {
			t.Fatal("could not remove on both stores within one second")
		}
	}

	site := feed.Site{Title: "News", Description: "Project news", BaseURL: "https://news.example.org", Language: "en", Author: "The project"}
	serve := func(s feed.Source) *httptest.Server {
		h := feed.NewHandler(s, site, feed.Options{Items: 3, Now: func() time.Time { return now.Add(2 * time.Hour) }})
		if _, err := h.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		for _, f := range feed.Formats() {
			mux.Handle("/feed."+f.Ext(), h.Site(f))
			mux.Handle("/tags/{slug}/feed."+f.Ext(), h.Tag(f))
		}
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := serve(lite), serve(pg)
	get := func(srv *httptest.Server, path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	for _, f := range feed.Formats() {
		ext := f.Ext()
		for _, path := range []string{"/feed." + ext, "/feed." + ext + "?page=2", "/feed." + ext + "?limit=10",
			"/tags/wp2/feed." + ext, "/tags/alpha/feed." + ext + "?tags=beta,zulu&limit=10", "/tags/beta/feed." + ext,
			"/tags/emile/feed." + ext} {
			ra, ba := get(a, path)
			rb, bb := get(b, path)
			if ra.StatusCode != http.StatusOK || rb.StatusCode != http.StatusOK {
				t.Errorf("%s: status %d (SQLite), %d (PostgreSQL)", path, ra.StatusCode, rb.StatusCode)
				continue
			}
			if !bytes.Equal(ba, bb) {
				t.Errorf("%s: bodies differ\nSQLite:\n%s\nPostgreSQL:\n%s", path, ba, bb)
			}
			for _, h := range []string{"ETag", "Last-Modified"} {
				if va, vb := ra.Header.Get(h), rb.Header.Get(h); va != vb || va == "" {
					t.Errorf("%s: %s %q (SQLite), %q (PostgreSQL)", path, h, va, vb)
				}
			}
		}
	}
}
