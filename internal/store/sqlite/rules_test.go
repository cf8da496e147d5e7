package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
)

// TestRecordBounceRule: the store counts failures and digest.Bounce
// decides: an active subscriber is bounced at its third hard failure,
// not before; one no longer active keeps its status; soft failures only
// count.
func TestRecordBounceRule(t *testing.T) {
	ctx := context.Background()
	st := openDigestTest(t)
	active := addSubscriber(t, st, "a@example.org", "active", nil)
	gone := addSubscriber(t, st, "g@example.org", "unsubscribed", nil)
	read := func(id int64) (status string, hard, soft int) {
		t.Helper()
		if err := st.r.QueryRowContext(ctx, `SELECT status, hard_failures, soft_failures FROM subscribers WHERE id = ?`, id).
			Scan(&status, &hard, &soft); err != nil {
			t.Fatal(err)
		}
		return
	}
	fail := func(id int64, b digest.Bounce) {
		t.Helper()
		if err := st.RecordOutcomes(ctx, 0, []digest.Outcome{{SubscriberID: id, Status: digest.DeliveryFailed, At: t0, Bounce: b}}); err != nil {
			t.Fatal(err)
		}
	}
	fail(active, digest.BounceSoft)
	for i := 1; i < digest.HardBounceLimit; i++ {
		fail(active, digest.BounceHard)
	}
	if s, h, so := read(active); s != "active" || h != digest.HardBounceLimit-1 || so != 1 {
		t.Fatalf("before the limit: %s, %d hard, %d soft", s, h, so)
	}
	fail(active, digest.BounceHard)
	if s, h, _ := read(active); s != "bounced" || h != digest.HardBounceLimit {
		t.Fatalf("at the limit: %s, %d hard", s, h)
	}
	fail(gone, digest.BounceUnknownUser)
	if s, h, _ := read(gone); s != "unsubscribed" || h != 1 {
		t.Fatalf("unsubscribed: %s, %d hard", s, h)
	}
	// An erased subscriber's late outcome is no error.
	fail(99999, digest.BounceHard)
}

// TestArticleStateCounts: every state is counted as article.State names
// it; removed wins over draft, a future date is scheduled.
func TestArticleStateCounts(t *testing.T) {
	ctx := context.Background()
	st := openDigestTest(t)
	addArticle(t, st, "pub", t0.Add(-time.Hour), false)
	addArticle(t, st, "later", t0.Add(time.Hour), false)
	addArticle(t, st, "draft", t0.Add(time.Hour), true)
	addArticle(t, st, "gone", t0.Add(-time.Hour), true)
	if err := st.SetRemoved(ctx, "gone", true); err != nil {
		t.Fatal(err)
	}
	got, err := st.ArticleStateCounts(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"published": 1, "scheduled": 1, "draft": 1, "removed": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("states %v", got)
	}
}
