package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/store/storetest"
)

// TestDigest runs the digest suite on two handles of one database file,
// as two processes would share it.
func TestDigest(t *testing.T) { storetest.RunDigest(t, digestFixture) }

// TestConformanceBounces runs the bounce suite on the same fixture.
func TestConformanceBounces(t *testing.T) { storetest.RunBounces(t, digestFixture) }

// TestConformanceDashboard runs the dashboard suite the same way.
func TestConformanceDashboard(t *testing.T) { storetest.RunDashboard(t, digestFixture) }

func digestFixture(t *testing.T) storetest.DigestFixture {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "herald.db")
	var handles [2]*sqlite.Store
	for i := range handles {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		handles[i] = s
	}
	a := handles[0]
	return storetest.DigestFixture{
		A: a, B: handles[1],
		AddArticle: func(t *testing.T, slug string, published time.Time, draft bool, tags ...string) {
			t.Helper()
			art := &article.Article{Slug: slug, Title: "Title " + slug, Published: published, Draft: draft,
				Source: article.SourceAPI, ContentHash: slug}
			for _, tg := range tags {
				art.Tags = append(art.Tags, article.Tag{Name: tg, Slug: tg})
			}
			if _, err := a.UpsertArticle(ctx, art, published); err != nil {
				t.Fatal(err)
			}
		},
		AddSubscriber: func(t *testing.T, email, status string, newsletters []string, tags ...string) int64 {
			t.Helper()
			if err := a.ExecForTest(ctx, `INSERT INTO subscribers (email, name, status, created_at, updated_at) VALUES (?, ?, ?, 0, 0)`,
				email, "Name of "+email, status); err != nil {
				t.Fatal(err)
			}
			c, found, err := a.LookupSubscriber(ctx, email)
			if err != nil || !found {
				t.Fatalf("subscriber %s: %v, %v", email, found, err)
			}
			for _, n := range newsletters {
				if err := a.ExecForTest(ctx, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at) VALUES (?, ?, 0)`, n, c.SubscriberID); err != nil {
					t.Fatal(err)
				}
			}
			for _, tg := range tags {
				if err := a.ExecForTest(ctx, `INSERT INTO subscriber_tags (subscriber_id, tag_slug) VALUES (?, ?)`, c.SubscriberID, tg); err != nil {
					t.Fatal(err)
				}
			}
			return c.SubscriberID
		},
		Unsubscribe: func(t *testing.T, id int64, newsletter string) {
			t.Helper()
			if err := a.ExecForTest(ctx, `DELETE FROM subscriptions WHERE subscriber_id = ? AND newsletter = ?`, id, newsletter); err != nil {
				t.Fatal(err)
			}
		},
	}
}
