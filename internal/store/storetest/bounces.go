package storetest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/subscribe"
)

// BounceStore is what the bounce suite exercises: the digest store plus
// bounce events, kept messages and the suppression list.
type BounceStore interface {
	DigestStore
	digest.FeedbackStore
	GetSubscriber(ctx context.Context, id int64) (*subscribe.Subscriber, error)
	EraseSubscriber(ctx context.Context, email string, now time.Time) error
}

// testHash is the suite's keyed hash of an address.
func testHash(email string) []byte {
	m := hmac.New(sha256.New, []byte("suite key"))
	m.Write([]byte(strings.ToLower(email)))
	return m.Sum(nil)
}

// sentRun plans a run for n subscribers and records every delivery sent
// with Message-ID "r{run}.s{sub}@test"; it returns the run and the ids.
func sentRun(t *testing.T, f DigestFixture, n int) (*digest.Run, []int64) {
	t.Helper()
	ctx := context.Background()
	run := runWith(t, f, n)
	cs := must(f.A.ClaimDeliveries(ctx, run.ID, "monthly", n, d0, time.Minute)).get(t)
	var outs []digest.Outcome
	var ids []int64
	for _, c := range cs {
		ids = append(ids, c.SubscriberID)
		outs = append(outs, digest.Outcome{SubscriberID: c.SubscriberID, Status: digest.DeliverySent, Reply: "250 ok",
			MessageID: fmt.Sprintf("r%d.s%d@test", run.ID, c.SubscriberID), At: d0, Lease: c.LeaseUntil})
	}
	ok(t, f.A.RecordOutcomes(ctx, run.ID, outs))
	return run, ids
}

// RunBounces runs the bounce suite; open returns a fresh fixture per call
// whose A handle is a BounceStore.
func RunBounces(t *testing.T, open func(t *testing.T) DigestFixture) {
	ctx := context.Background()
	store := func(t *testing.T, f DigestFixture) BounceStore {
		t.Helper()
		s, isB := f.A.(BounceStore)
		if !isB {
			t.Fatalf("%T is no BounceStore", f.A)
		}
		return s
	}
	sub := func(t *testing.T, s BounceStore, id int64) *subscribe.Subscriber {
		t.Helper()
		return must(s.GetSubscriber(ctx, id)).get(t)
	}

	t.Run("HardByToken", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		run, ids := sentRun(t, f, 3)
		fb := digest.Feedback{ID: "e1", Source: "smtp", Kind: digest.FeedbackHard, RunID: run.ID, SubscriberID: ids[0], Status: "5.1.1", At: d0.Add(time.Hour)}
		res := must(s.ApplyFeedback(ctx, fb, testHash)).get(t)
		if !res.Applied || !res.Suppressed || res.SubscriberID != ids[0] || res.RunID != run.ID {
			t.Fatalf("result = %+v", res)
		}
		got := sub(t, s, ids[0])
		if got.Status != subscribe.StatusBounced || got.HardFailures != 1 {
			t.Fatalf("subscriber = %s, %d hard", got.Status, got.HardFailures)
		}
		if c := counts(t, f.A, run.ID); c.Bounced != 1 || c.Sent != 2 || c.Planned != 3 {
			t.Fatalf("counts = %+v", c)
		}
		if rf := must(s.RunFeedback(ctx, run.ID)).get(t); rf != (digest.RunFeedback{Sent: 3, Hard: 1}) {
			t.Fatalf("run feedback = %+v", rf)
		}
		page := must(f.A.ListDeliveries(ctx, run.ID, digest.DeliveryFilter{Status: digest.DeliveryBounced}, 0, 10)).get(t)
		if len(page) != 1 || page[0].SubscriberID != ids[0] {
			t.Fatalf("bounced deliveries = %+v", page)
		}
		if !must(s.Suppressed(ctx, [][]byte{[]byte("other"), testHash(got.Email)})).get(t) {
			t.Fatal("the bounced address is not suppressed")
		}
		// The same event again changes nothing.
		res = must(s.ApplyFeedback(ctx, fb, testHash)).get(t)
		if res.Applied {
			t.Fatal("a repeated event was applied again")
		}
		if got := sub(t, s, ids[0]); got.HardFailures != 1 {
			t.Fatalf("hard failures after a repeat = %d", got.HardFailures)
		}
	})

	t.Run("HardByMessageID", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		run, ids := sentRun(t, f, 2)
		// A permanent failure that is not an unknown mailbox counts toward
		// the limit: the delivery is bounced, the address not yet.
		fb := digest.Feedback{ID: "m1", Source: "generic", Kind: digest.FeedbackHard, Status: "5.7.1",
			MessageID: fmt.Sprintf("<r%d.s%d@test>", run.ID, ids[1]), At: d0}
		res := must(s.ApplyFeedback(ctx, fb, testHash)).get(t)
		if !res.Applied || res.Suppressed || res.SubscriberID != ids[1] || res.RunID != run.ID {
			t.Fatalf("result = %+v", res)
		}
		if got := sub(t, s, ids[1]); got.Status != subscribe.StatusActive || got.HardFailures != 1 {
			t.Fatalf("subscriber = %s, %d hard", got.Status, got.HardFailures)
		}
		if c := counts(t, f.A, run.ID); c.Bounced != 1 {
			t.Fatalf("counts = %+v", c)
		}
	})

	t.Run("SoftByEmail", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		_, ids := sentRun(t, f, 1)
		email := sub(t, s, ids[0]).Email
		res := must(s.ApplyFeedback(ctx, digest.Feedback{ID: "s1", Source: "postmark", Kind: digest.FeedbackSoft,
			Email: strings.ToUpper(email), At: d0}, testHash)).get(t)
		if !res.Applied || res.Suppressed || res.SubscriberID != ids[0] {
			t.Fatalf("result = %+v", res)
		}
		if got := sub(t, s, ids[0]); got.Status != subscribe.StatusActive || got.SoftFailures != 1 {
			t.Fatalf("subscriber = %s, %d soft", got.Status, got.SoftFailures)
		}
	})

	t.Run("Complaint", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		run, ids := sentRun(t, f, 2)
		res := must(s.ApplyFeedback(ctx, digest.Feedback{ID: "c1", Source: "smtp", Kind: digest.FeedbackComplaint,
			RunID: run.ID, SubscriberID: ids[0], At: d0}, testHash)).get(t)
		if !res.Applied || !res.Suppressed {
			t.Fatalf("result = %+v", res)
		}
		got := sub(t, s, ids[0])
		if got.Status != subscribe.StatusUnsubscribed || len(got.Newsletters) != 0 {
			t.Fatalf("subscriber = %s, %v", got.Status, got.Newsletters)
		}
		if rf := must(s.RunFeedback(ctx, run.ID)).get(t); rf.Complaints != 1 || rf.Sent != 2 {
			t.Fatalf("run feedback = %+v", rf)
		}
		list := must(s.Suppressions(ctx)).get(t)
		if len(list) != 1 || list[0].Reason != digest.SuppressComplaint || list[0].Email != got.Email ||
			!bytes.Equal(list[0].Hash, testHash(got.Email)) || !list[0].CreatedAt.Equal(d0) {
			t.Fatalf("suppressions = %+v", list)
		}
		// The suppression outlives erasure, without the address.
		ok(t, s.EraseSubscriber(ctx, got.Email, d0.Add(time.Hour)))
		list = must(s.Suppressions(ctx)).get(t)
		if len(list) != 1 || list[0].Email != "" {
			t.Fatalf("suppressions after erase = %+v", list)
		}
		if !must(s.Suppressed(ctx, [][]byte{testHash(got.Email)})).get(t) {
			t.Fatal("erase lifted the suppression")
		}
		if !must(s.Unsuppress(ctx, [][]byte{[]byte("x"), testHash(got.Email)})).get(t) {
			t.Fatal("unsuppress found nothing")
		}
		if must(s.Suppressed(ctx, [][]byte{testHash(got.Email)})).get(t) || len(must(s.Suppressions(ctx)).get(t)) != 0 {
			t.Fatal("still suppressed")
		}
		if must(s.Unsuppress(ctx, [][]byte{testHash(got.Email)})).get(t) {
			t.Fatal("unsuppress twice found something")
		}
	})

	t.Run("UnknownAddress", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		// A provider reports a hard bounce for an address no subscriber has
		// (erased, or never here): it is suppressed all the same.
		res := must(s.ApplyFeedback(ctx, digest.Feedback{ID: "u1", Source: "sendgrid", Kind: digest.FeedbackHard,
			Email: "gone@example.net", At: d0}, testHash)).get(t)
		if !res.Applied || !res.Suppressed || res.SubscriberID != 0 {
			t.Fatalf("result = %+v", res)
		}
		ok(t, s.Suppress(ctx, testHash("gone@example.net"), digest.SuppressComplaint, 0, d0))
		list := must(s.Suppressions(ctx)).get(t)
		if len(list) != 1 || list[0].Reason != digest.SuppressHard {
			t.Fatalf("suppressions = %+v", list)
		}
	})

	t.Run("Unsubscribe", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		id := f.AddSubscriber(t, "two@example.org", "active", []string{"monthly", "weekly"})
		res := must(s.ApplyFeedback(ctx, digest.Feedback{ID: "x1", Source: "smtp", Kind: digest.FeedbackUnsubscribe,
			SubscriberID: id, Newsletter: "weekly", At: d0}, testHash)).get(t)
		if !res.Applied || res.Suppressed {
			t.Fatalf("result = %+v", res)
		}
		if got := sub(t, s, id); got.Status != subscribe.StatusActive || len(got.Newsletters) != 1 || got.Newsletters[0] != "monthly" {
			t.Fatalf("subscriber = %s, %v", got.Status, got.Newsletters)
		}
		must(s.ApplyFeedback(ctx, digest.Feedback{ID: "x2", Source: "smtp", Kind: digest.FeedbackUnsubscribe,
			SubscriberID: id, At: d0}, testHash)).get(t)
		if got := sub(t, s, id); got.Status != subscribe.StatusUnsubscribed || len(got.Newsletters) != 0 {
			t.Fatalf("subscriber = %s, %v", got.Status, got.Newsletters)
		}
		if len(must(s.Suppressions(ctx)).get(t)) != 0 {
			t.Fatal("an unsubscribe suppressed the address")
		}
	})

	t.Run("Kept", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		ok(t, s.KeepMessage(ctx, digest.KeptMessage{ID: "k1", Reason: "no report", Raw: []byte("Subject: a\r\n\r\nA"), CreatedAt: d0}))
		ok(t, s.KeepMessage(ctx, digest.KeptMessage{ID: "k2", Reason: "odd", Raw: []byte("Subject: b\r\n\r\nB"), CreatedAt: d0.Add(time.Minute)}))
		ok(t, s.KeepMessage(ctx, digest.KeptMessage{ID: "k1", Reason: "again", Raw: []byte("x"), CreatedAt: d0.Add(time.Hour)}))
		got := must(s.KeptMessages(ctx, 10)).get(t)
		if len(got) != 2 || got[0].ID != "k2" || got[1].ID != "k1" || got[1].Reason != "no report" ||
			string(got[1].Raw) != "Subject: a\r\n\r\nA" || !got[1].CreatedAt.Equal(d0) {
			t.Fatalf("kept = %+v", got)
		}
	})
}
