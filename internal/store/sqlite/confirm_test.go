package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/subscribe"
)

// TestConfirmQueue: what happens to a confirmation held back by a guard
// when the address changes meanwhile, and to the guards of a mail that
// could not be sent.
func TestConfirmQueue(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim := subscribe.ConfirmLimits{Resend: time.Hour, DomainPerHour: 30}
	c := subscribe.Choice{Newsletters: []string{"monthly"}, Tags: []string{}}
	queued := func(t *testing.T, st *Store) int {
		t.Helper()
		var n int
		if err := st.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM confirm_queue`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// held queues a@ (mailed) and a+x@ (held back by the mailbox guard).
	held := func(t *testing.T) *Store {
		t.Helper()
		st, _ := openTest(t)
		for i, e := range []string{"a@example.org", "a+x@example.org"} {
			if err := st.QueueSubscription(ctx, e, c, now.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if subs, err := st.TakeConfirmations(ctx, "", lim, now); err != nil || len(subs) != 1 || subs[0].Email != "a@example.org" {
			t.Fatalf("take: %v %v", subs, err)
		}
		if queued(t, st) != 1 {
			t.Fatal("the held-back request left the queue")
		}
		return st
	}
	t.Run("OKEraseDropsHeld", func(t *testing.T) {
		st := held(t)
		if err := st.EraseSubscriber(ctx, "a+x@example.org", now); err != nil {
			t.Fatal(err)
		}
		if n := queued(t, st); n != 0 {
			t.Fatalf("%d queued after erasure", n)
		}
	})
	t.Run("OKConfirmedDropsHeld", func(t *testing.T) {
		st := held(t)
		sub, err := st.SubscriberByEmail(ctx, "a+x@example.org")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.ConfirmSubscriber(ctx, sub.ID, now); err != nil {
			t.Fatal(err)
		}
		if subs, err := st.TakeConfirmations(ctx, "", lim, now.Add(2*time.Hour)); err != nil || len(subs) != 0 || queued(t, st) != 0 {
			t.Fatalf("an active address still got a confirmation: %v %v", subs, err)
		}
	})
	t.Run("OKFailedMailUndoesGuards", func(t *testing.T) {
		st, _ := openTest(t)
		if err := st.QueueSubscription(ctx, "b@example.org", c, now); err != nil {
			t.Fatal(err)
		}
		subs, err := st.TakeConfirmations(ctx, "b@example.org", lim, now)
		if err != nil || len(subs) != 1 {
			t.Fatalf("take: %v %v", subs, err)
		}
		if err := st.ConfirmMailFailed(ctx, subs[0].ID, now); err != nil {
			t.Fatal(err)
		}
		if err := st.QueueSubscription(ctx, "b+retry@example.org", c, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if subs, err := st.TakeConfirmations(ctx, "", lim, now.Add(time.Minute)); err != nil || len(subs) != 1 || subs[0].Email != "b+retry@example.org" {
			t.Fatalf("after a failed mail the mailbox was still guarded: %v %v", subs, err)
		}
	})
}
