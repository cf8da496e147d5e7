package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
)

// TestMigration007 migrates a store holding runs with articles, variants
// and deliveries to the schema that knows 'failed': the rows referencing
// digest_runs are all kept and still reference it (PRAGMA
// foreign_key_check, and deleting a run still cascades).
func TestMigration007(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "h.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	ms, err := listMigrations()
	if err != nil {
		t.Fatal(err)
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`)
	for _, m := range ms {
		if m.version >= 7 {
			break
		}
		body, err := fs.ReadFile(migrations, "migrations/"+m.name)
		if err != nil {
			t.Fatal(err)
		}
		mustExec(string(body))
		mustExec(`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name)
	}
	for id := 1; id <= 2; id++ {
		mustExec(`INSERT INTO digest_runs (id, newsletter, slot, slot_at, kind, status, created_at, sent_count) VALUES (?, 'monthly', ?, 0, 'scheduled', 'done', 0, 7)`,
			id, "slot"+string(rune('0'+id)))
		mustExec(`INSERT INTO digest_run_articles (run_id, article_id, position) VALUES (?, ?, 0)`, id, 10+id)
		mustExec(`INSERT INTO newsletter_articles (newsletter, article_id, run_id) VALUES ('monthly', ?, ?)`, 10+id, id)
		mustExec(`INSERT INTO digest_variants (run_id, key, subject, html, text) VALUES (?, 'all', 's', 'h', 't')`, id)
		mustExec(`INSERT INTO digest_deliveries (run_id, subscriber_id, status) VALUES (?, 1, 'sent')`, id)
	}
	if _, err := raw.ExecContext(ctx, `UPDATE digest_runs SET status = 'failed' WHERE id = 1`); err == nil {
		t.Fatal("the old schema took status 'failed'")
	}
	raw.Close()

	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func(table string) int {
		var n int
		if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, table := range []string{"digest_runs", "digest_run_articles", "newsletter_articles", "digest_variants", "digest_deliveries"} {
		if n := count(table); n != 2 {
			t.Errorf("%s: %d rows after the migration, want 2", table, n)
		}
	}
	var sent int
	if err := st.r.QueryRowContext(ctx, `SELECT sent_count FROM digest_runs WHERE id = 2`).Scan(&sent); err != nil || sent != 7 {
		t.Errorf("sent_count = %d, %v", sent, err)
	}
	rows, err := st.r.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check reports a broken reference")
	}
	rows.Close()
	var schema string
	st.r.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = 'digest_run_articles'`).Scan(&schema)
	if !strings.Contains(schema, "REFERENCES digest_runs ") {
		t.Errorf("digest_run_articles no longer references digest_runs:\n%s", schema)
	}
	if err := st.ExecForTest(ctx, `UPDATE digest_runs SET status = 'failed' WHERE id = 1`); err != nil {
		t.Fatalf("status failed: %v", err)
	}
	if err := st.ExecForTest(ctx, `DELETE FROM digest_runs WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if n := count("digest_variants"); n != 1 {
		t.Errorf("deleting a run left %d variants, want 1 (the cascade)", n)
	}
	var fk int
	st.w.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk)
	if fk != 1 {
		t.Error("foreign keys stayed off after the migration")
	}
}

// TestRunFailed: a run whose composition fails is recorded failed with its
// slot used and no deliveries, and its articles go with the next run; a
// run failed while sending settles its open deliveries and releases its
// articles likewise.
func TestRunFailed(t *testing.T) {
	ctx := context.Background()
	st := openDigestTest(t)
	addArticle(t, st, "a1", t0.Add(-48*time.Hour), false)
	addArticle(t, st, "a2", t0.Add(-47*time.Hour), false)
	addSubscriber(t, st, "x@example.net", "active", []string{"monthly"})
	addSubscriber(t, st, "y@example.net", "active", []string{"monthly"})
	req := digest.PlanRequest{
		Selection: digest.Selection{Newsletter: "monthly", SlotAt: t0, FirstWindow: 30 * 24 * time.Hour},
		Slot:      "2026-12-01T09:00", Kind: digest.KindScheduled, Now: t0,
	}
	bad := errors.New("template exploded")

	t.Run("ErrCompose", func(t *testing.T) {
		run, err := st.PlanRun(ctx, req, func(*digest.Run, []article.Article) ([]digest.Variant, error) { return nil, bad })
		if !errors.Is(err, digest.ErrRunFailed) || !errors.Is(err, bad) || run == nil || run.Status != digest.RunFailed {
			t.Fatalf("PlanRun = %+v, %v", run, err)
		}
		got, _ := st.GetRun(ctx, run.ID)
		if got.Status != digest.RunFailed || got.Recipients != 0 || got.Failure != "template exploded" {
			t.Errorf("stored run %+v", got)
		}
		if _, err := st.PlanRun(ctx, req, nil); !errors.Is(err, digest.ErrAlreadyPlanned) {
			t.Errorf("the failed slot planned again: %v", err)
		}
	})
	t.Run("OKArticlesGoNext", func(t *testing.T) {
		r2 := req
		r2.Slot, r2.Kind = "manual-1", digest.KindManual
		run, slugs, err := planWith(st, r2)
		if err != nil || len(slugs) != 2 || run.Recipients != 2 {
			t.Fatalf("next run: %+v %v %v", run, slugs, err)
		}
		if err := st.StartRun(ctx, run.ID, t0); err != nil {
			t.Fatal(err)
		}
		cs, err := st.ClaimDeliveries(ctx, run.ID, "monthly", 1, t0, time.Minute)
		if err != nil || len(cs) != 1 {
			t.Fatalf("claim: %v %v", cs, err)
		}
		if err := st.RecordOutcomes(ctx, run.ID, []digest.Outcome{{SubscriberID: cs[0].SubscriberID, Status: digest.DeliverySent, At: t0}}); err != nil {
			t.Fatal(err)
		}
		failed, err := st.FailRun(ctx, run.ID, t0, "render: boom")
		if err != nil || !failed {
			t.Fatalf("FailRun = %v, %v", failed, err)
		}
		if again, err := st.FailRun(ctx, run.ID, t0, "again"); err != nil || again {
			t.Errorf("FailRun of a failed run = %v, %v", again, err)
		}
		c, _ := st.RunCounts(ctx, run.ID)
		if c.Sent != 1 || c.Skipped != 1 || c.Open() != 0 {
			t.Errorf("counts %+v", c)
		}
		r3 := req
		r3.Slot, r3.Kind = "manual-2", digest.KindManual
		_, slugs, err = planWith(st, r3)
		if err != nil || len(slugs) != 2 {
			t.Errorf("the failed run's articles did not go with the next: %v %v", slugs, err)
		}
	})
}

func planWith(st *Store, req digest.PlanRequest) (*digest.Run, []string, error) {
	var got []string
	run, err := st.PlanRun(context.Background(), req, func(r *digest.Run, arts []article.Article) ([]digest.Variant, error) {
		for _, a := range arts {
			got = append(got, a.Slug)
		}
		return []digest.Variant{{Key: digest.VariantAll, Subject: "s", HTML: "<p>x</p>", Text: "x"}}, nil
	})
	return run, got, err
}
