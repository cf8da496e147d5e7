package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
)

// checkSchema fails t unless the store passes the integrity and foreign
// key checks and no table of a rebuild is left behind.
func checkSchema(t *testing.T, st *Store) {
	t.Helper()
	ctx := context.Background()
	var ok string
	if err := st.r.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity: %q %v", ok, err)
	}
	rows, err := st.r.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Fatal("foreign_key_check reports violations")
	}
	var left int
	st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE '%_v4' OR sql LIKE '%_v4%'`).Scan(&left)
	if left != 0 {
		t.Fatalf("%d schema objects still name a _v4 table", left)
	}
}

// newSubscriber adds email the way the subscribe form does and returns it.
func newSubscriber(t *testing.T, st *Store, email string) *subscribe.Subscriber {
	t.Helper()
	sub, _, err := st.RequestSubscription(context.Background(), email, subscribe.Choice{Newsletters: []string{"monthly"}}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// TestMigrationIDs fills a store as schema version 4 left it (with an
// erased subscriber whose delivery rows outlived her) and migrates it.
func TestMigrationIDs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	old, err := OpenAtVersion(ctx, path, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO subscribers (id, email, name, status, created_at, updated_at) VALUES
			(1, 'a@example.org', 'A', 'active', 0, 0), (2, 'b@example.org', 'B', 'active', 0, 0), (3, 'c@example.org', 'C', 'active', 0, 0)`,
		`INSERT INTO subscriptions (newsletter, subscriber_id, created_at) VALUES ('monthly', 1, 0), ('monthly', 2, 0), ('weekly', 2, 0), ('monthly', 3, 0)`,
		`INSERT INTO subscriber_tags (subscriber_id, tag_slug) VALUES (2, 'ports'), (3, 'x')`,
		`INSERT INTO digest_runs (id, newsletter, slot, slot_at, kind, status, created_at) VALUES (7, 'monthly', 's', 0, 'manual', 'sending', 0)`,
		`INSERT INTO digest_run_articles (run_id, article_id, position) VALUES (7, 1, 0)`,
		`INSERT INTO digest_variants (run_id, key, subject, html, text) VALUES (7, 'all', 'S', '<p>', 'p')`,
		`INSERT INTO digest_deliveries (run_id, subscriber_id, status) VALUES (7, 1, 'sent'), (7, 2, 'pending'), (7, 3, 'sent'), (7, 4, 'pending')`,
		// 4 was erased before: her delivery row is all that is left of her.
		// 3 is erased now, by the version 4 code (subscriptions cascade).
		`DELETE FROM subscribers WHERE id = 3`,
	} {
		if _, err := old.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()

	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkSchema(t, st)
	a, err := st.GetSubscriber(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.GetSubscriber(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(b.Newsletters, b.Tags) != "[monthly weekly] [ports]" || b.Name != "B" {
		t.Fatalf("b after migration: %+v", b)
	}
	if !a.LegacyLinks || !b.LegacyLinks || len(a.LinkSecret) != 16 || len(b.LinkSecret) != 16 || bytes.Equal(a.LinkSecret, b.LinkSecret) {
		t.Fatalf("rows from before: legacy %v %v, secrets %x %x", a.LegacyLinks, b.LegacyLinks, a.LinkSecret, b.LinkSecret)
	}
	var mark int64
	st.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, legacyMaxKey).Scan(&mark)
	if mark != 2 {
		t.Fatalf("high-water mark %d, want 2", mark)
	}
	// The next id is above every id the store ever used, erased ones too.
	c := newSubscriber(t, st, "new@example.org")
	if c.ID != 5 || c.LegacyLinks || len(c.LinkSecret) != 16 {
		t.Fatalf("new subscriber: id %d legacy %v", c.ID, c.LegacyLinks)
	}
	// The erased people's delivery rows are folded into the run: counts
	// unchanged, rows gone.
	counts, err := st.RunCounts(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if want := (digest.Counts{Planned: 4, Pending: 1, Sent: 2, Skipped: 1}); counts != want {
		t.Fatalf("run counts %+v, want %+v", counts, want)
	}
	for _, id := range []int64{3, 4} {
		if ds, _ := st.SubscriberDeliveries(ctx, id); len(ds) != 0 {
			t.Fatalf("deliveries of erased %d kept: %+v", id, ds)
		}
	}
	var runArts int
	st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM digest_run_articles WHERE run_id = 7`).Scan(&runArts)
	if runArts != 1 {
		t.Fatalf("run articles kept: %d, want 1", runArts)
	}
	if v, ok, err := st.Variant(ctx, 7, "all"); err != nil || !ok || v.Subject != "S" {
		t.Fatalf("variant kept: %+v %v %v", v, ok, err)
	}
	run, _, err := plan(t, st, t0, digest.KindManual, 10)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != 8 {
		t.Fatalf("next run id %d, want 8", run.ID)
	}
}

// TestIDsNeverReused: an erased subscriber's id (the highest) is not
// given to the next subscriber, by the form or by import.
func TestIDsNeverReused(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"Form", "Import"} {
		t.Run(how, func(t *testing.T) {
			st := openDigestTest(t)
			newSubscriber(t, st, "first@example.org")
			gone := newSubscriber(t, st, "gone@example.org")
			if err := st.EraseSubscriber(ctx, "gone@example.org", t0); err != nil {
				t.Fatal(err)
			}
			var id int64
			if how == "Form" {
				id = newSubscriber(t, st, "next@example.org").ID
			} else {
				subs := []*subscribe.Subscriber{{Email: "next@example.org", Status: subscribe.StatusActive, Newsletters: []string{"monthly"}},
					{Email: "first@example.org", Status: subscribe.StatusActive}}
				created, err := st.ImportSubscribers(ctx, subs, t0)
				if err != nil || !created[0] || created[1] {
					t.Fatalf("import: %v %v", created, err)
				}
				if got, err := st.SubscriberByEmail(ctx, "next@example.org"); err != nil || got.ID != subs[0].ID || !got.Has("monthly") {
					t.Fatalf("imported: %+v %v (id %d)", got, err, subs[0].ID)
				}
				id = subs[0].ID
			}
			if id <= gone.ID {
				t.Fatalf("new subscriber got id %d, erased one had %d", id, gone.ID)
			}
		})
	}
}

// TestEraseDeliveries: erasing folds the person's delivery rows into
// their runs' counts (open ones as skipped) and deletes them.
func TestEraseDeliveries(t *testing.T) {
	ctx := context.Background()
	st := openDigestTest(t)
	addArticle(t, st, "p", t0.Add(-time.Hour), false)
	addSubscriber(t, st, "a@example.org", "active", []string{"monthly"})
	b := addSubscriber(t, st, "b@example.org", "active", []string{"monthly"})
	run1, _, err := plan(t, st, t0, digest.KindManual, 10)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := st.ClaimDeliveries(ctx, run1.ID, "monthly", 10, t0, time.Minute)
	if err != nil || len(claims) != 2 {
		t.Fatalf("claims %+v %v", claims, err)
	}
	if err := st.RecordOutcomes(ctx, run1.ID, []digest.Outcome{{SubscriberID: b, Status: digest.DeliverySent, Reply: "250", MessageID: "m", At: t0}}); err != nil {
		t.Fatal(err)
	}
	addArticle(t, st, "q", t0.Add(time.Hour), false)
	run2, _, err := plan(t, st, t0.Add(2*time.Hour), digest.KindManual, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EraseSubscriber(ctx, "b@example.org", t0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		run  int64
		want digest.Counts
	}{
		{run1.ID, digest.Counts{Planned: 2, Sending: 1, Sent: 1}},    // a still leased; b's sent row folded
		{run2.ID, digest.Counts{Planned: 2, Pending: 1, Skipped: 1}}, // b's pending row: skipped, erased
	} {
		if got, err := st.RunCounts(ctx, tc.run); err != nil || got != tc.want {
			t.Errorf("run %d counts %+v %v, want %+v", tc.run, got, err, tc.want)
		}
	}
	if ds, _ := st.SubscriberDeliveries(ctx, b); len(ds) != 0 {
		t.Fatalf("erased person's deliveries kept: %+v", ds)
	}
	// The next person never sees them.
	c := newSubscriber(t, st, "c@example.org")
	if ds, _ := st.SubscriberDeliveries(ctx, c.ID); c.ID == b || len(ds) != 0 {
		t.Fatalf("new subscriber %d (erased %d) has deliveries %+v", c.ID, b, ds)
	}
	all, err := st.DeliveryStatusCounts(ctx)
	if err != nil || all["sent"] != 1 || all["skipped"] != 1 || all["pending"] != 1 || all["sending"] != 1 {
		t.Fatalf("status counts %v %v", all, err)
	}
	// The lease of b's (deleted) row ends with a late outcome: nothing
	// comes back. Retention then adds the stored rows to the kept counts.
	if err := st.RecordOutcomes(ctx, run1.ID, []digest.Outcome{{SubscriberID: claims[0].SubscriberID, Status: digest.DeliverySent, At: t0}}); err != nil {
		t.Fatal(err)
	}
	if done, err := st.FinishRun(ctx, run1.ID, t0); !done || err != nil {
		t.Fatalf("finish: %v %v", done, err)
	}
	if _, err := st.PruneDeliveries(ctx, t0.Add(time.Second), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := st.RunCounts(ctx, run1.ID); err != nil || (got != digest.Counts{Planned: 2, Sent: 2}) {
		t.Fatalf("counts after prune %+v %v", got, err)
	}
	if err := st.EraseSubscriber(ctx, "b@example.org", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second erase: %v", err)
	}
}

// TestRestoreRaisesIDs restores an older backup (of this schema, and of
// schema version 4) over a store that has since added subscribers and
// runs: the next ones get ids the replaced store never used.
func TestRestoreRaisesIDs(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		version int
	}{{"OK", LatestVersion()}, {"FromVersion4", 4}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bak := filepath.Join(dir, "old.db")
			if tc.version == LatestVersion() {
				st, err := Open(ctx, filepath.Join(dir, "seed.db"))
				if err != nil {
					t.Fatal(err)
				}
				newSubscriber(t, st, "kept@example.org")
				if err := st.Backup(ctx, bak); err != nil {
					t.Fatal(err)
				}
				st.Close()
			} else {
				st, err := OpenAtVersion(ctx, bak, 4)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.w.ExecContext(ctx, `INSERT INTO subscribers (id, email, status, created_at, updated_at) VALUES (1, 'kept@example.org', 'active', 0, 0)`); err != nil {
					t.Fatal(err)
				}
				st.Close()
			}

			path := filepath.Join(dir, "live.db")
			st, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			var gone int64
			for _, e := range []string{"kept@example.org", "x@example.org", "y@example.org"} {
				gone = newSubscriber(t, st, e).ID
			}
			addArticle(t, st, "p", t0.Add(-time.Hour), false)
			run, _, err := plan(t, st, t0, digest.KindManual, 10)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()

			if err := Restore(ctx, path, bak); err != nil {
				t.Fatal(err)
			}
			st, err = Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			checkSchema(t, st)
			kept, err := st.SubscriberByEmail(ctx, "kept@example.org")
			if err != nil || kept.ID != 1 {
				t.Fatalf("restored subscriber %+v %v", kept, err)
			}
			if tc.version == 4 && !kept.LegacyLinks {
				t.Error("a row restored from before bound links lost its old links")
			}
			if _, err := st.GetSubscriber(ctx, gone); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("row %d of the replaced store survived: %v", gone, err)
			}
			if n := newSubscriber(t, st, "new@example.org"); n.ID <= gone {
				t.Fatalf("new subscriber got id %d; the replaced store had used up to %d", n.ID, gone)
			}
			if _, err := st.GetSubscriber(ctx, gone); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("id %d reused", gone)
			}
			r, _, err := plan(t, st, t0.Add(time.Hour), digest.KindManual, 10)
			if err != nil {
				t.Fatal(err)
			}
			if r.ID <= run.ID {
				t.Fatalf("new run got id %d; the replaced store had run %d", r.ID, run.ID)
			}
		})
	}
}

// TestRestoreUnreadableStore: restore will not guess the ids of a store
// it cannot read; moved away, the backup goes back without it.
func TestRestoreUnreadableStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bak := filepath.Join(dir, "old.db")
	st, err := Open(ctx, filepath.Join(dir, "seed.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Backup(ctx, bak); err != nil {
		t.Fatal(err)
	}
	st.Close()
	path := filepath.Join(dir, "live.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a database "), 500), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Restore(ctx, path, bak); err == nil || !strings.Contains(err.Error(), "move that file away") {
		t.Fatalf("restore over an unreadable store: %v", err)
	}
	if err := os.Rename(path, path+".damaged"); err != nil {
		t.Fatal(err)
	}
	if err := Restore(ctx, path, bak); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(path + ".restore-tmp*"); len(left) != 0 {
		t.Fatalf("restore left %v", left)
	}
	st, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkSchema(t, st)
}

// TestRunIDSequenceSurvives007: migration 007 rebuilds digest_runs after
// 005 made its ids AUTOINCREMENT; the rebuilt table keeps AUTOINCREMENT
// and the sequence, so a run id handed out before (even of a run since
// deleted) is never handed out again.
func TestRunIDSequenceSurvives007(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "h.db")
	old, err := OpenAtVersion(ctx, path, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO digest_runs (id, newsletter, slot, slot_at, kind, status, created_at) VALUES (40, 'monthly', 'a', 0, 'manual', 'done', 0)`,
		`DELETE FROM digest_runs WHERE id = 40`,
	} {
		if _, err := old.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ddl string
	if err := st.r.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'digest_runs'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, "AUTOINCREMENT") {
		t.Errorf("digest_runs lost AUTOINCREMENT:\n%s", ddl)
	}
	var id int64
	if err := st.w.QueryRowContext(ctx, `INSERT INTO digest_runs (newsletter, slot, slot_at, kind, status, created_at) VALUES ('monthly', 'b', 0, 'manual', 'done', 0) RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id <= 40 {
		t.Errorf("new run id %d reuses an id handed out before 007 (want > 40)", id)
	}
}
