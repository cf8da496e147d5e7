package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
)

// FeedStore is the part of a store the feed suite exercises: the ids
// feeds give articles and when each feed last changed
// (docs/ARCHITECTURE.md, "Feeds and caching").
type FeedStore interface {
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
	GetArticle(ctx context.Context, slug string) (*article.Article, error)
	SetRemoved(ctx context.Context, slug string, removed bool) error
	DeleteArticle(ctx context.Context, slug string) error
	FixFeedAuthority(ctx context.Context, authority string) (string, error)
	FeedChanged(ctx context.Context, tags []string, now time.Time) (time.Time, error)
}

// RunFeeds runs the feed conformance suite.
func RunFeeds(t *testing.T, open func(t *testing.T) FeedStore) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

	t.Run("FeedIDFixedAuthority", func(t *testing.T) {
		s := open(t)
		// Minted before the first start fixed the authority: pending.
		early := &article.Article{Slug: "early", Title: "Early", Published: now.AddDate(0, 0, -9), Source: article.SourceAPI, ContentHash: "e1"}
		if _, err := s.UpsertArticle(ctx, early, now); err != nil {
			t.Fatal(err)
		}
		if want := "tag:,2026-11-20:/articles/early"; early.FeedID != want {
			t.Errorf("pending id %q, want %q", early.FeedID, want)
		}
		auth, err := s.FixFeedAuthority(ctx, "news.example.org")
		if err != nil || auth != "news.example.org" {
			t.Fatalf("authority %q, %v", auth, err)
		}
		got := must(s.GetArticle(ctx, "early")).get(t)
		if want := "tag:news.example.org,2026-11-20:/articles/early"; got.FeedID != want {
			t.Errorf("completed id %q, want %q", got.FeedID, want)
		}
		// A later start with another host keeps the first.
		auth, err = s.FixFeedAuthority(ctx, "herald.example.com")
		if err != nil || auth != "news.example.org" {
			t.Errorf("second fix: %q, %v", auth, err)
		}
	})

	t.Run("FeedIDFirstSeenDate", func(t *testing.T) {
		s := open(t)
		if _, err := s.FixFeedAuthority(ctx, "news.example.org"); err != nil {
			t.Fatal(err)
		}
		// The date part is first publication in the store (UTC), not
		// `published`, which is earlier here and in another zone.
		pub := time.Date(2026, 10, 8, 23, 30, 0, 0, time.FixedZone("-02", -2*3600))
		a := &article.Article{Slug: "meeting", Title: "Meeting", Published: pub, Source: article.SourceAPI, ContentHash: "m1",
			Tags: []article.Tag{{Name: "x", Slug: "x"}}}
		if _, err := s.UpsertArticle(ctx, a, now); err != nil {
			t.Fatal(err)
		}
		const want = "tag:news.example.org,2026-11-20:/articles/meeting"
		if a.FeedID != want {
			t.Errorf("id %q, want %q", a.FeedID, want)
		}
		// A draft has none until it is published, then that day's.
		d := &article.Article{Slug: "notes", Title: "Notes", Published: pub, Draft: true, Source: article.SourceAPI, ContentHash: "n1"}
		if _, err := s.UpsertArticle(ctx, d, now); err != nil {
			t.Fatal(err)
		}
		if got := must(s.GetArticle(ctx, "notes")).get(t); got.FeedID != "" {
			t.Errorf("draft has id %q", got.FeedID)
		}
		d.Draft, d.ContentHash = false, "n2"
		later := now.AddDate(0, 0, 3)
		if _, err := s.UpsertArticle(ctx, d, later); err != nil {
			t.Fatal(err)
		}
		const wantDraft = "tag:news.example.org,2026-11-23:/articles/notes"
		if got := must(s.GetArticle(ctx, "notes")).get(t); got.FeedID != wantDraft {
			t.Errorf("published draft's id %q, want %q", got.FeedID, wantDraft)
		}
		// Edits of title, date and tags, removal and return keep the id.
		for slug, id := range map[string]string{"meeting": want, "notes": wantDraft} {
			e := must(s.GetArticle(ctx, slug)).get(t)
			e.Title, e.Published, e.ContentHash, e.Tags = "Corrected", e.Published.AddDate(0, 0, -3), "changed", nil
			e.Updated = time.Time{}
			if _, err := s.UpsertArticle(ctx, e, later.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			ok(t, s.SetRemoved(ctx, slug, true))
			ok(t, s.SetRemoved(ctx, slug, false))
			got := must(s.GetArticle(ctx, slug)).get(t)
			if got.FeedID != id || got.Title != "Corrected" {
				t.Errorf("%s after edits: id %q title %q, want %q", slug, got.FeedID, got.Title, id)
			}
		}
	})

	t.Run("ErrEmptyAuthority", func(t *testing.T) {
		s := open(t)
		if auth, err := s.FixFeedAuthority(ctx, ""); err == nil {
			t.Errorf("empty authority fixed: %q", auth)
		}
		// Nothing was fixed: the next start still can.
		auth, err := s.FixFeedAuthority(ctx, "news.example.org")
		if err != nil || auth != "news.example.org" {
			t.Errorf("after the refused one: %q, %v", auth, err)
		}
	})

	t.Run("FeedChanged", func(t *testing.T) {
		s := open(t)
		wall := time.Now()
		if got, err := s.FeedChanged(ctx, nil, wall); err != nil || !got.IsZero() {
			t.Errorf("empty store: %v, %v", got, err)
		}
		t0 := wall.Add(-time.Hour).Truncate(time.Second).UTC()
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
		changed := func(tags ...string) time.Time {
			t.Helper()
			return must(s.FeedChanged(ctx, tags, wall)).get(t)
		}
		check := func(step string, want map[string]time.Time) {
			t.Helper()
			for feed, w := range want {
				var tags []string
				if feed != "" {
					tags = []string{feed}
				}
				if got := changed(tags...); !got.Equal(w) {
					t.Errorf("%s: feed %q changed %v, want %v", step, feed, got, w)
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
		put("a", false, 3, "y") // unchanged: nothing moves
		check("Unchanged", map[string]time.Time{"": at(3), "x": at(3), "y": at(3)})
		// An earlier clock never moves a change time back.
		put("b", false, -30, "y")
		check("Monotonic", map[string]time.Time{"": at(3), "y": at(3)})
		ok(t, s.SetRemoved(ctx, "b", true))
		if got := changed("y"); !got.After(at(3)) {
			t.Errorf("Removed: feed y changed %v, want after %v", got, at(3))
		}
		if got, y := changed("x", "y"), changed("y"); !got.Equal(y) || got.Before(changed("x")) {
			t.Errorf("AnyOf: %v, want the latest of x and y (%v)", got, y)
		}
		put("d", false, 5, "z")
		check("Only", map[string]time.Time{"z": at(5)})
		ok(t, s.DeleteArticle(ctx, "d"))
		if got := changed("z"); !got.After(at(5)) {
			t.Errorf("Delete: feed z changed %v, want after %v", got, at(5))
		}
	})

	t.Run("ScheduledAppears", func(t *testing.T) {
		s := open(t)
		a := &article.Article{Slug: "old", Title: "Old", Published: now.AddDate(0, 0, -1), Source: article.SourceAPI, ContentHash: "o",
			Tags: []article.Tag{{Name: "x", Slug: "x"}}}
		if _, err := s.UpsertArticle(ctx, a, now); err != nil {
			t.Fatal(err)
		}
		pub := now.Add(48 * time.Hour)
		f := &article.Article{Slug: "future", Title: "Future", Published: pub, Source: article.SourceAPI, ContentHash: "f",
			Tags: []article.Tag{{Name: "x", Slug: "x"}}}
		if _, err := s.UpsertArticle(ctx, f, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, tags := range [][]string{nil, {"x"}} {
			// Writing a scheduled article changes no feed until it appears.
			if got := must(s.FeedChanged(ctx, tags, now.Add(2*time.Hour))).get(t); !got.Equal(now) {
				t.Errorf("tags %v before publication: %v, want %v", tags, got, now)
			}
			if got := must(s.FeedChanged(ctx, tags, pub.Add(time.Minute))).get(t); !got.Equal(pub) {
				t.Errorf("tags %v after publication: %v, want %v", tags, got, pub)
			}
		}
	})

	t.Run("EmptySiteFeedFixed", func(t *testing.T) {
		s := open(t)
		before := time.Now().Truncate(time.Second)
		if _, err := s.FixFeedAuthority(ctx, "news.example.org"); err != nil {
			t.Fatal(err)
		}
		got := must(s.FeedChanged(ctx, nil, time.Now())).get(t)
		if got.Before(before) || got.Nanosecond() != 0 {
			t.Errorf("empty site feed changed %v, want a whole second from %v", got, before)
		}
		// A later start does not move it.
		if _, err := s.FixFeedAuthority(ctx, "news.example.org"); err != nil {
			t.Fatal(err)
		}
		if again := must(s.FeedChanged(ctx, nil, time.Now().Add(time.Hour))).get(t); !again.Equal(got) {
			t.Errorf("second start moved it: %v → %v", got, again)
		}
	})
}

// SecretStore is the part of a store the secrets suite exercises: the
// token key kept in the store and the fingerprints of the keys serve uses.
type SecretStore interface {
	TokenKey(ctx context.Context) ([]byte, error)
	SetServingKeyPrints(ctx context.Context, prints []string) error
	ServingKeyPrints(ctx context.Context) (prints []string, ok bool, err error)
	InstallationID(ctx context.Context) (string, error)
}

// RunSecrets runs the secrets conformance suite.
func RunSecrets(t *testing.T, open func(t *testing.T) SecretStore) {
	ctx := context.Background()

	// Callers racing for the first key all get the one that was kept.
	t.Run("TokenKeyOnce", func(t *testing.T) {
		s := open(t)
		keys := make([][]byte, 4)
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() { keys[i], errs[i] = s.TokenKey(ctx) })
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if len(keys[i]) != 32 || !bytes.Equal(keys[i], keys[0]) {
				t.Errorf("key %d = %x, want 32 bytes equal to %x", i, keys[i], keys[0])
			}
		}
		again := must(s.TokenKey(ctx)).get(t)
		if !bytes.Equal(again, keys[0]) {
			t.Errorf("later call: %x, want %x", again, keys[0])
		}
		if bytes.Equal(keys[0], make([]byte, 32)) {
			t.Error("key is all zeros")
		}
	})

	// Callers racing at the first start all get the one id that was kept;
	// another store has another.
	t.Run("InstallationIDOnce", func(t *testing.T) {
		s := open(t)
		ids := make([]string, 4)
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() { ids[i], errs[i] = s.InstallationID(ctx) })
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if len(ids[i]) < 16 || ids[i] != ids[0] {
				t.Errorf("id %d = %q, want at least 16 characters equal to %q", i, ids[i], ids[0])
			}
			if strings.Trim(ids[i], "abcdefghijklmnopqrstuvwxyz234567") != "" {
				t.Errorf("id %q: want lowercase base32 (valid in a Message-ID)", ids[i])
			}
		}
		if again := must(s.InstallationID(ctx)).get(t); again != ids[0] {
			t.Errorf("later call: %q, want %q", again, ids[0])
		}
		if other := must(open(t).InstallationID(ctx)).get(t); other == ids[0] {
			t.Errorf("another store has the same id %q", other)
		}
	})

	t.Run("ServingKeyPrints", func(t *testing.T) {
		s := open(t)
		prints, found, err := s.ServingKeyPrints(ctx)
		if err != nil || found || prints != nil {
			t.Errorf("before any serve: %v %v %v", prints, found, err)
		}
		for _, want := range [][]string{{"ab12", "cd34"}, {"ef56"}, nil} {
			ok(t, s.SetServingKeyPrints(ctx, want))
			prints, found, err := s.ServingKeyPrints(ctx)
			if err != nil || !found || !eq(prints, want) {
				t.Errorf("after setting %v: %v %v %v", want, prints, found, err)
			}
		}
	})
}
