package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store/storetest"
	"github.com/herald-news/herald/internal/testenv"
)

// TestDigest runs the digest suite on two stores (two pools, as two
// instances) over one database, emptied between subtests so the suite
// creates one database in all.
func TestDigest(t *testing.T) { runDigestFixture(t, storetest.RunDigest) }

// TestConformanceBounces runs the bounce suite the same way.
func TestConformanceBounces(t *testing.T) { runDigestFixture(t, storetest.RunBounces) }

// TestConformanceDashboard runs the dashboard suite the same way.
func TestConformanceDashboard(t *testing.T) { runDigestFixture(t, storetest.RunDashboard) }

func runDigestFixture(t *testing.T, suite func(*testing.T, func(*testing.T) storetest.DigestFixture)) {
	ctx := context.Background()
	dsn := testenv.PostgresDSN(t)
	a, b := openTest(t, dsn), openTest(t, dsn)
	suite(t, func(t *testing.T) storetest.DigestFixture {
		if _, err := a.pool.Exec(ctx, `TRUNCATE articles, tags, article_tags, subscribers, subscriptions, subscriber_tags,
			newsletter_state, digest_runs, digest_run_articles, newsletter_articles, digest_variants, digest_deliveries,
			bounce_events, bounce_kept, suppressions, subscriber_counts, unsubscribes RESTART IDENTITY CASCADE`); err != nil {
			t.Fatal(err)
		}
		return storetest.DigestFixture{
			A: a, B: b,
			AddArticle: func(t *testing.T, slug string, published time.Time, draft bool, tags ...string) {
				t.Helper()
				addArticle(t, a, slug, published, draft, tags...)
			},
			AddSubscriber: func(t *testing.T, email, status string, newsletters []string, tags ...string) int64 {
				t.Helper()
				var id int64
				if err := a.pool.QueryRow(ctx, `INSERT INTO subscribers (email, name, status, created_at, updated_at)
					VALUES ($1, $2, $3, 0, 0) RETURNING id`, email, "Name of "+email, status).Scan(&id); err != nil {
					t.Fatal(err)
				}
				if _, err := a.pool.Exec(ctx, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at)
					SELECT n, $2, 0 FROM unnest($1::text[]) AS n`, newsletters, id); err != nil {
					t.Fatal(err)
				}
				if _, err := a.pool.Exec(ctx, `INSERT INTO subscriber_tags (subscriber_id, tag_slug)
					SELECT $2, tg FROM unnest($1::text[]) AS tg`, tags, id); err != nil {
					t.Fatal(err)
				}
				return id
			},
			Unsubscribe: func(t *testing.T, id int64, newsletter string) {
				t.Helper()
				if _, err := a.pool.Exec(ctx, `DELETE FROM subscriptions WHERE subscriber_id = $1 AND newsletter = $2`, id, newsletter); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
}

// addArticle stores a listed (or draft) article with tags directly: the
// article methods are another part of the store.
func addArticle(t testing.TB, s *Store, slug string, published time.Time, draft bool, tags ...string) {
	t.Helper()
	ctx := context.Background()
	var id int64
	if err := s.pool.QueryRow(ctx, `INSERT INTO articles (slug, title, published, updated, draft, source, content_hash)
		VALUES ($1, $2, $3, $3, $4, 'api', $1) RETURNING id`, slug, "Title "+slug, micros(published), draft).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for i, tg := range tags {
		if _, err := s.pool.Exec(ctx, `WITH t AS (INSERT INTO tags (slug, name) VALUES ($1, $1)
				ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id)
			INSERT INTO article_tags (article_id, tag_id, position, published, listed) SELECT $2, t.id, $3, $4, $5 FROM t`,
			tg, id, i, micros(published), !draft); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConformanceArticles(t *testing.T) {
	open := freshStores(t)
	storetest.RunArticles(t, func(t *testing.T) storetest.ArticleStore { return open(t) })
}

func TestConformanceFeeds(t *testing.T) {
	open := freshStores(t)
	storetest.RunFeeds(t, func(t *testing.T) storetest.FeedStore { return open(t) })
}

func TestConformanceSecrets(t *testing.T) {
	open := freshStores(t)
	storetest.RunSecrets(t, func(t *testing.T) storetest.SecretStore { return open(t) })
}

func TestConformanceArchive(t *testing.T) {
	open := freshStores(t)
	storetest.RunArchive(t, func(t *testing.T) storetest.ArchiveStore { return open(t) })
}

// TestInstances runs the instance suite on two pools over one database,
// emptied between subtests.
func TestInstances(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	a, b := openTest(t, dsn), openTest(t, dsn)
	storetest.RunInstances(t, func(t *testing.T) (storetest.InstanceStore, storetest.InstanceStore) {
		if _, err := a.pool.Exec(context.Background(), `TRUNCATE websub_pings, rate_hits, leases`); err != nil {
			t.Fatal(err)
		}
		return a, b
	})
}

func TestConformanceUsers(t *testing.T) {
	open := freshStores(t)
	storetest.RunUsers(t, func(t *testing.T) storetest.UserStore { return open(t) })
}

func TestConformanceRemoteImages(t *testing.T) {
	open := freshStores(t)
	storetest.RunRemoteImages(t, func(t *testing.T) storetest.RemoteImageStore { return open(t) })
}

func TestConformanceMedia(t *testing.T) {
	open := freshStores(t)
	storetest.RunMedia(t, func(t *testing.T) storetest.MediaStore { return open(t) })
}

func TestConformanceAccounts(t *testing.T) {
	open := freshStores(t)
	storetest.RunAccounts(t, func(t *testing.T) storetest.AccountStore { return open(t) })
}

func TestConformanceRevisions(t *testing.T) {
	open := freshStores(t)
	storetest.RunRevisions(t, func(t *testing.T) storetest.RevisionStore { return open(t) })
}
