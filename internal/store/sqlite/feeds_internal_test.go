package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
)

// createBefore makes a store at the schema the binary had before feed ids
// were stored (every migration below 8), as an upgraded site has it.
func createBefore(t *testing.T, path string, version int) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	ms, err := listMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.version >= version {
			break
		}
		body, _ := fs.ReadFile(migrations, "migrations/"+m.name)
		if _, err := db.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	// As the old binary stored them: a published article (dated late in
	// the evening west of UTC, so its UTC date is the next day) and a draft.
	pub := time.Date(2026, 10, 8, 23, 30, 0, 0, time.FixedZone("-02", -2*3600))
	for _, r := range []struct {
		slug  string
		draft bool
		first any
	}{{"partner-meeting", false, micros(pub.Add(time.Hour))}, {"draft-notes", true, nil}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO articles (slug, title, published, updated, draft, source, first_seen)
			VALUES (?, 'Title', ?, ?, ?, 'api', ?)`, r.slug, micros(pub), micros(pub), r.draft, r.first); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFeedIDUpgrade: articles an older Herald served keep the id it gave
// them (host of site.base_url at the first start after the upgrade, date
// of published), while articles published later get first_seen's date;
// neither changes when the date or the host does.
func TestFeedIDUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	createBefore(t, path, 8)
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	auth, err := s.FixFeedAuthority(ctx, "news.example.org")
	if err != nil || auth != "news.example.org" {
		t.Fatalf("authority %q, %v", auth, err)
	}
	// What the renderer of the previous version computed.
	const legacy = "tag:news.example.org,2026-10-09:/articles/partner-meeting"
	a, err := s.GetArticle(ctx, "partner-meeting")
	if err != nil || a.FeedID != legacy {
		t.Fatalf("upgraded id %q (%v), want %q", a.FeedID, err, legacy)
	}

	// The draft is published a month later: its id takes that day.
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	d, _ := s.GetArticle(ctx, "draft-notes")
	d.Draft, d.Published = false, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.UpsertArticle(ctx, d, now); err != nil {
		t.Fatal(err)
	}
	const fresh = "tag:news.example.org,2026-11-20:/articles/draft-notes"
	if d.FeedID != fresh {
		t.Errorf("new id %q, want %q", d.FeedID, fresh)
	}

	// Correct both dates and titles, move the site: the ids stay.
	if auth, _ := s.FixFeedAuthority(ctx, "herald.example.com"); auth != "news.example.org" {
		t.Errorf("authority moved to %q", auth)
	}
	for slug, want := range map[string]string{"partner-meeting": legacy, "draft-notes": fresh} {
		a, _ := s.GetArticle(ctx, slug)
		a.Title, a.Published, a.ContentHash = "Corrected", a.Published.AddDate(0, 0, -3), "changed"
		if _, err := s.UpsertArticle(ctx, a, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetArticle(ctx, slug)
		if got.FeedID != want || got.Title != "Corrected" {
			t.Errorf("%s after corrections: id %q title %q, want %q", slug, got.FeedID, got.Title, want)
		}
	}
}

// TestFeedIDBeforeFirstStart: an id minted before the authority is fixed
// gets the authority the first start fixes.
func TestFeedIDBeforeFirstStart(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	a := &article.Article{Slug: "early", Title: "Early", Published: now.AddDate(0, 0, -9), Source: article.SourceAPI}
	if _, err := s.UpsertArticle(ctx, a, now); err != nil {
		t.Fatal(err)
	}
	if a.FeedID != "tag:,2026-11-20:/articles/early" {
		t.Errorf("pending id %q", a.FeedID)
	}
	if _, err := s.FixFeedAuthority(ctx, "news.example.org"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetArticle(ctx, "early")
	if got.FeedID != "tag:news.example.org,2026-11-20:/articles/early" {
		t.Errorf("completed id %q", got.FeedID)
	}
}

// TestFeedChanged: which writes move which feed's change time.
func TestFeedChanged(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	put := func(slug string, draft bool, m int, tags ...string) {
		t.Helper()
		a := &article.Article{Slug: slug, Title: slug, Published: t0.AddDate(0, 0, -10), Draft: draft,
			Source: article.SourceAPI, ContentHash: fmt.Sprint(slug, m, draft, tags)}
		for _, tg := range tags {
			a.Tags = append(a.Tags, article.Tag{Name: tg, Slug: tg})
		}
		if _, err := s.UpsertArticle(ctx, a, at(m)); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, want map[string]time.Time) {
		t.Helper()
		for feed, w := range want {
			var tags []string
			if feed != "" {
				tags = []string{feed}
			}
			got, err := s.FeedChanged(ctx, tags, time.Now())
			if err != nil || !got.Equal(w) {
				t.Errorf("%s: feed %q changed %v (%v), want %v", step, feed, got, err, w)
			}
		}
	}
	put("a", false, 0, "x")
	put("b", false, 1, "y")
	check("OK", map[string]time.Time{"": at(1), "x": at(0), "y": at(1)})
	put("c", true, 2, "x") // a draft is in no feed
	check("Draft", map[string]time.Time{"": at(1), "x": at(0)})
	put("a", false, 3, "y") // leaves x for y: both change
	check("Retag", map[string]time.Time{"": at(3), "x": at(3), "y": at(3)})
	if err := s.SetRemoved(ctx, "b", true); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FeedChanged(ctx, []string{"y"}, time.Now())
	if !got.After(at(3)) {
		t.Errorf("Removed: feed y changed %v, want after %v", got, at(3))
	}
	if got, _ := s.FeedChanged(ctx, []string{"x", "y"}, time.Now()); !got.After(at(3)) {
		t.Errorf("AnyOf: %v, want the latest of x and y", got)
	}
}
