package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/testenv"
)

// TestEraseFoldsDeliveries: erasing a subscriber moves each of its
// delivery rows into its run's counts (unsettled ones as skipped) and
// deletes them. The conformance suite covers this through the digest
// methods; this covers the SQL while the backend may not offer them.
func TestEraseFoldsDeliveries(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, testenv.PostgresDSN(t))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []int64
	for _, e := range []string{"a@example.org", "b@example.org", "c@example.org", "keep@example.org"} {
		sub, _, err := s.UpsertActive(ctx, e, subscribe.Choice{Newsletters: []string{"monthly"}}, now)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	var run int64
	if err := s.pool.QueryRow(ctx, `INSERT INTO digest_runs (newsletter, slot, slot_at, kind, status, created_at, sent_count)
		VALUES ('monthly', 's', 0, 'scheduled', 'sending', 0, 5) RETURNING id`).Scan(&run); err != nil {
		t.Fatal(err)
	}
	for i, st := range []string{"sent", "failed", "sending", "sent"} {
		if _, err := s.pool.Exec(ctx, `INSERT INTO digest_deliveries (run_id, subscriber_id, status) VALUES ($1, $2, $3)`, run, ids[i], st); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		if err := s.EraseSubscriber(ctx, e, now); err != nil {
			t.Fatal(err)
		}
	}
	var sent, failed, skipped, left int
	if err := s.pool.QueryRow(ctx, `SELECT sent_count, failed_count, skipped_count, (SELECT count(*) FROM digest_deliveries)
		FROM digest_runs WHERE id = $1`, run).Scan(&sent, &failed, &skipped, &left); err != nil {
		t.Fatal(err)
	}
	if sent != 6 || failed != 1 || skipped != 1 || left != 1 {
		t.Fatalf("counts sent %d failed %d skipped %d, rows left %d", sent, failed, skipped, left)
	}
}
