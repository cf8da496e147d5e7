package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
)

// DigestStore is the digest side of a store: runs, planning, the delivery
// queue under leases, run control, the metrics counts and retention.
type DigestStore interface {
	digest.Store
	DeliveryStatusCounts(ctx context.Context) (map[string]int, error)
	SubscriberStatusCounts(ctx context.Context) (map[string]int, error)
	QueueDepth(ctx context.Context) (int, error)
	FailedRuns(ctx context.Context) (map[string]int, error)
	LastDigestSuccess(ctx context.Context) (map[string]float64, error)
	PruneDeliveries(ctx context.Context, cutoff, now time.Time) (int64, error)
}

// DigestFixture is one fresh, empty database seen through two store
// handles (two processes, as far as the store can tell), with ways to add
// the articles and subscribers that other areas of the store own.
type DigestFixture struct {
	A, B DigestStore
	// AddArticle stores a published article (draft when draft is set)
	// with the given tag slugs.
	AddArticle func(t *testing.T, slug string, published time.Time, draft bool, tags ...string)
	// AddSubscriber stores a subscriber with status ("active", ...),
	// subscribed to newsletters, with topic tags; it returns the id.
	AddSubscriber func(t *testing.T, email, status string, newsletters []string, tags ...string) int64
	// Unsubscribe removes the subscriber's subscription to newsletter.
	Unsubscribe func(t *testing.T, id int64, newsletter string)
}

var d0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

const month = 30 * 24 * time.Hour

// planReq is a run of newsletter "monthly" at slot.
func planReq(slot time.Time, kind digest.Kind, max int, tags ...string) digest.PlanRequest {
	return digest.PlanRequest{
		Selection: digest.Selection{Newsletter: "monthly", Tags: tags, SlotAt: slot, FirstWindow: month, MaxArticles: max},
		Slot:      string(kind) + slot.Format(time.RFC3339), Kind: kind, Now: slot,
	}
}

// planWith plans req on s, composing one variant, and returns the run and
// the slugs compose was given.
func planWith(s DigestStore, req digest.PlanRequest) (*digest.Run, []string, error) {
	var got []string
	run, err := s.PlanRun(context.Background(), req, func(r *digest.Run, arts []article.Article) ([]digest.Variant, error) {
		for _, a := range arts {
			got = append(got, a.Slug)
		}
		return []digest.Variant{{Key: digest.VariantAll, Subject: fmt.Sprintf("run %d", r.ID), HTML: "<p>x</p>", Text: "x"}}, nil
	})
	return run, got, err
}

// runWith plans a scheduled run at d0 with one article and n active
// subscribers, and returns it.
func runWith(t *testing.T, f DigestFixture, n int) *digest.Run {
	t.Helper()
	f.AddArticle(t, "a1", d0.Add(-time.Hour), false)
	for i := range n {
		f.AddSubscriber(t, fmt.Sprintf("r%04d@example.org", i), "active", []string{"monthly"})
	}
	run, _, err := planWith(f.A, planReq(d0, digest.KindScheduled, 10))
	ok(t, err)
	if run.Recipients != n {
		t.Fatalf("recipients = %d, want %d", run.Recipients, n)
	}
	return run
}

func counts(t *testing.T, s DigestStore, runID int64) digest.Counts {
	t.Helper()
	return must(s.RunCounts(context.Background(), runID)).get(t)
}

// RunDigest runs the digest suite; open returns a fresh fixture per call.
func RunDigest(t *testing.T, open func(t *testing.T) DigestFixture) {
	ctx := context.Background()

	t.Run("PlanOnce", func(t *testing.T) {
		f := open(t)
		f.AddArticle(t, "a1", d0.Add(-time.Hour), false)
		req := planReq(d0, digest.KindScheduled, 10)
		// Two instances reach the same slot together: one plans it.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []DigestStore{f.A, f.B} {
			wg.Go(func() { _, _, errs[i] = planWith(s, req) })
		}
		wg.Wait()
		planned, already := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				planned++
			case errors.Is(err, digest.ErrAlreadyPlanned):
				already++
			default:
				t.Fatal(err)
			}
		}
		if planned != 1 || already != 1 {
			t.Fatalf("planned %d, already planned %d; want 1 and 1", planned, already)
		}
		_, _, err := planWith(f.B, req)
		if !errors.Is(err, digest.ErrAlreadyPlanned) {
			t.Fatalf("plan again: %v, want ErrAlreadyPlanned", err)
		}
		sameErr(t, "plan again", err, digest.AlreadyPlanned("monthly", req.Slot))
		runs := must(f.B.ListRuns(ctx, "monthly", false, 0)).get(t)
		if len(runs) != 1 || runs[0].Articles != 1 {
			t.Fatalf("runs = %+v", runs)
		}
	})

	t.Run("Selection", func(t *testing.T) {
		f := open(t)
		f.AddArticle(t, "too-old", d0.Add(-month-time.Hour), false)
		f.AddArticle(t, "a1", d0.Add(-3*time.Hour), false)
		f.AddArticle(t, "a2", d0.Add(-2*time.Hour), false)
		f.AddArticle(t, "a3", d0.Add(-time.Hour), false)
		f.AddArticle(t, "draft", d0.Add(-time.Hour), true)
		f.AddArticle(t, "future", d0.Add(time.Hour), false)
		if _, found := must2(f.A.NewsletterState(ctx, "monthly")).get(t); found {
			t.Fatal("state before the first run")
		}
		prev := must(f.A.SelectArticles(ctx, digest.Selection{Newsletter: "monthly", SlotAt: d0, FirstWindow: month, MaxArticles: 2})).get(t)
		if !eq(slugs(prev), []string{"a3", "a2"}) {
			t.Fatalf("preview = %v", slugs(prev))
		}
		// A test run changes nothing.
		run, got, err := planWith(f.A, planReq(d0, digest.KindTest, 2))
		ok(t, err)
		if run.Status != digest.RunDone || !eq(got, []string{"a3", "a2"}) {
			t.Fatalf("test run %s carried %v", run.Status, got)
		}
		if _, found := must2(f.A.NewsletterState(ctx, "monthly")).get(t); found {
			t.Fatal("a test run fixed the horizon")
		}
		run, got, err = planWith(f.A, planReq(d0, digest.KindScheduled, 2))
		ok(t, err)
		if run.Status != digest.RunPlanned || run.Articles != 2 || !eq(got, []string{"a3", "a2"}) {
			t.Fatalf("first run %+v carried %v", run, got)
		}
		if got := slugs(must(f.B.RunArticles(ctx, run.ID)).get(t)); !eq(got, []string{"a3", "a2"}) {
			t.Fatalf("run articles = %v", got)
		}
		st, found := must2(f.B.NewsletterState(ctx, "monthly")).get(t)
		if !found || !st.Horizon.Equal(d0.Add(-month)) || !st.FirstRunAt.Equal(d0) || st.LastSlot != run.Slot || !st.LastSlotAt.Equal(d0) {
			t.Fatalf("state = %+v, %v", st, found)
		}
		// The next run takes what waited and what is new, never an
		// article that went out, and keeps the first horizon.
		f.AddArticle(t, "a4", d0.Add(time.Hour), false)
		run2, got, err := planWith(f.B, planReq(d0.Add(2*time.Hour), digest.KindScheduled, 0))
		ok(t, err)
		if !eq(got, []string{"a4", "future", "a1"}) || run2.Articles != 3 {
			t.Fatalf("second run carried %v", got)
		}
		// Nothing left: skipped, and the slot still counts.
		run3, got, err := planWith(f.A, planReq(d0.Add(3*time.Hour), digest.KindScheduled, 0))
		ok(t, err)
		if run3.Status != digest.RunSkipped || len(got) != 0 {
			t.Fatalf("empty run %s carried %v", run3.Status, got)
		}
		if st, _ := must2(f.A.NewsletterState(ctx, "monthly")).get(t); st.LastSlot != run3.Slot {
			t.Fatalf("last slot = %q, want %q", st.LastSlot, run3.Slot)
		}
	})

	t.Run("Tags", func(t *testing.T) {
		f := open(t)
		f.AddArticle(t, "go", d0.Add(-2*time.Hour), false, "go")
		f.AddArticle(t, "rust", d0.Add(-time.Hour), false, "rust")
		f.AddArticle(t, "both", d0.Add(-3*time.Hour), false, "go", "rust")
		_, got, err := planWith(f.A, planReq(d0, digest.KindScheduled, 0, "go"))
		ok(t, err)
		if !eq(got, []string{"go", "both"}) {
			t.Fatalf("tag go carried %v", got)
		}
	})

	t.Run("ComposeFails", func(t *testing.T) {
		f := open(t)
		f.AddArticle(t, "a1", d0.Add(-time.Hour), false)
		f.AddSubscriber(t, "x@example.org", "active", []string{"monthly"})
		boom := errors.New("template broke")
		run, err := f.A.PlanRun(ctx, planReq(d0, digest.KindScheduled, 0), func(*digest.Run, []article.Article) ([]digest.Variant, error) {
			return nil, boom
		})
		if !errors.Is(err, digest.ErrRunFailed) || !errors.Is(err, boom) || run == nil || run.Status != digest.RunFailed {
			t.Fatalf("PlanRun = %+v, %v", run, err)
		}
		sameErr(t, "compose fails", err, digest.ComposeFailed(run.ID, "monthly", boom))
		got := must(f.B.GetRun(ctx, run.ID)).get(t)
		if got.Status != digest.RunFailed || got.Failure != boom.Error() || got.Recipients != 0 {
			t.Fatalf("stored run = %+v", got)
		}
		if fr := must(f.B.FailedRuns(ctx)).get(t); fr["monthly"] != 1 {
			t.Fatalf("failed runs = %v", fr)
		}
		// Its articles wait for the next run.
		_, arts, err := planWith(f.B, planReq(d0.Add(time.Hour), digest.KindScheduled, 0))
		ok(t, err)
		if !eq(arts, []string{"a1"}) {
			t.Fatalf("next run carried %v", arts)
		}
	})

	t.Run("Variants", func(t *testing.T) {
		f := open(t)
		run := runWith(t, f, 0)
		if _, found, err := f.A.Variant(ctx, run.ID, "tag:go"); err != nil || found {
			t.Fatalf("missing variant: %v, %v", found, err)
		}
		v := must(f.A.PutVariant(ctx, run.ID, digest.Variant{Key: "tag:go", Subject: "first", HTML: "<p>1</p>", Text: "1"})).get(t)
		if v.Subject != "first" {
			t.Fatalf("put = %+v", v)
		}
		// A second process composing the same key keeps the first.
		v = must(f.B.PutVariant(ctx, run.ID, digest.Variant{Key: "tag:go", Subject: "second"})).get(t)
		if v.Subject != "first" || v.HTML != "<p>1</p>" || v.Text != "1" {
			t.Fatalf("second put = %+v", v)
		}
		all, found, err := f.B.Variant(ctx, run.ID, digest.VariantAll)
		ok(t, err)
		if !found || all.Subject != fmt.Sprintf("run %d", run.ID) {
			t.Fatalf("variant all = %+v, %v", all, found)
		}
	})

	t.Run("Deliveries", func(t *testing.T) {
		f := open(t)
		f.AddArticle(t, "a1", d0.Add(-time.Hour), false)
		alice := f.AddSubscriber(t, "alice@example.org", "active", []string{"monthly"}, "go", "rust")
		bob := f.AddSubscriber(t, "bob@example.org", "active", []string{"monthly"})
		f.AddSubscriber(t, "carol@example.org", "pending", []string{"monthly"})
		f.AddSubscriber(t, "dave@example.org", "active", []string{"weekly"})
		erin := f.AddSubscriber(t, "erin@example.org", "active", []string{"monthly"})
		run, _, err := planWith(f.A, planReq(d0, digest.KindScheduled, 0))
		ok(t, err)
		if run.Recipients != 3 || run.Subject != fmt.Sprintf("run %d", run.ID) {
			t.Fatalf("run = %+v", run)
		}
		if act := must(f.B.ActiveRuns(ctx)).get(t); len(act) != 1 || act[0].ID != run.ID {
			t.Fatalf("active = %+v", act)
		}
		ok(t, f.B.StartRun(ctx, run.ID, d0))
		if r := must(f.B.GetRun(ctx, run.ID)).get(t); r.Status != digest.RunSending || !r.StartedAt.Equal(d0) {
			t.Fatalf("started run = %+v", r)
		}
		_, err = f.B.GetRun(ctx, run.ID+100)
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing run: %v", err)
		}
		sameErr(t, "missing run", err, digest.RunNotFound(run.ID+100))
		// Erin unsubscribes during the run: her row is settled skipped.
		f.Unsubscribe(t, erin, "monthly")
		now := d0.Add(time.Minute)
		cs := must(f.A.ClaimDeliveries(ctx, run.ID, "monthly", 10, now, time.Minute)).get(t)
		if len(cs) != 2 || cs[0].SubscriberID != alice || cs[1].SubscriberID != bob {
			t.Fatalf("claims = %+v", cs)
		}
		if c := cs[0]; c.Email != "alice@example.org" || c.Name == "" || !eq(c.Tags, []string{"go", "rust"}) ||
			c.Attempts != 1 || !c.LeaseUntil.Equal(now.Add(time.Minute)) {
			t.Fatalf("claim = %+v", c)
		}
		if c := counts(t, f.B, run.ID); c != (digest.Counts{Planned: 3, Sending: 2, Skipped: 1}) {
			t.Fatalf("counts = %+v", c)
		}
		if n := must(f.B.QueueDepth(ctx)).get(t); n != 2 {
			t.Fatalf("queue depth = %d", n)
		}
		// Bob's attempt is retried later; alice's is sent.
		ok(t, f.B.RecordOutcomes(ctx, run.ID, []digest.Outcome{
			{SubscriberID: alice, Status: digest.DeliverySent, Reply: "250 ok", MessageID: "<m1>", At: now, Lease: cs[0].LeaseUntil},
			{SubscriberID: bob, Status: digest.DeliveryPending, Reply: "451 later", At: now, NextAttempt: now.Add(time.Hour), Lease: cs[1].LeaseUntil},
		}))
		due, found, err := f.A.NextDue(ctx, run.ID)
		ok(t, err)
		if !found || !due.Equal(now.Add(time.Hour)) {
			t.Fatalf("next due = %v, %v", due, found)
		}
		if cs := must(f.A.ClaimDeliveries(ctx, run.ID, "monthly", 10, now, time.Minute)).get(t); len(cs) != 0 {
			t.Fatalf("claimed a retry before it was due: %+v", cs)
		}
		if done := must(f.A.FinishRun(ctx, run.ID, now)).get(t); done {
			t.Fatal("finished with a delivery open")
		}
		later := now.Add(time.Hour)
		cs = must(f.B.ClaimDeliveries(ctx, run.ID, "monthly", 10, later, time.Minute)).get(t)
		if len(cs) != 1 || cs[0].SubscriberID != bob || cs[0].Attempts != 2 {
			t.Fatalf("retry claims = %+v", cs)
		}
		ok(t, f.A.RecordOutcomes(ctx, run.ID, []digest.Outcome{
			{SubscriberID: bob, Status: digest.DeliveryFailed, Reply: "550 no such user", At: later, Lease: cs[0].LeaseUntil, Bounce: digest.BounceUnknownUser},
		}))
		if _, found := must2(f.A.NextDue(ctx, run.ID)).get(t); found {
			t.Fatal("next due with every row settled")
		}
		if done := must(f.B.FinishRun(ctx, run.ID, later)).get(t); !done {
			t.Fatal("not finished")
		}
		if r := must(f.A.GetRun(ctx, run.ID)).get(t); r.Status != digest.RunDone || !r.FinishedAt.Equal(later) {
			t.Fatalf("finished run = %+v", r)
		}
		var rows []string
		ok(t, f.A.Deliveries(ctx, run.ID, func(d digest.DeliveryRow) error {
			rows = append(rows, fmt.Sprintf("%s %s %d %q %q %v", d.Email, d.Status, d.Attempts, d.Reply, d.MessageID, d.SentAt.Equal(later) || d.SentAt.Equal(now)))
			return nil
		}))
		want := []string{
			`alice@example.org sent 1 "250 ok" "<m1>" true`,
			`bob@example.org failed 2 "550 no such user" "" true`,
			`erin@example.org skipped 1 "unsubscribed from monthly" "" true`,
		}
		if !eq(rows, want) {
			t.Fatalf("deliveries:\n%v\nwant\n%v", rows, want)
		}
		page := must(f.B.ListDeliveries(ctx, run.ID, digest.DeliveryFilter{}, alice, 1)).get(t)
		if len(page) != 1 || page[0].SubscriberID != bob {
			t.Fatalf("page after alice = %+v", page)
		}
		page = must(f.B.ListDeliveries(ctx, run.ID, digest.DeliveryFilter{Status: digest.DeliverySkipped}, 0, 10)).get(t)
		if len(page) != 1 || page[0].SubscriberID != erin {
			t.Fatalf("skipped page = %+v", page)
		}
		if page := must(f.B.ListDeliveries(ctx, run.ID, digest.DeliveryFilter{Status: digest.DeliveryPending}, 0, 10)).get(t); page == nil || len(page) != 0 {
			t.Fatalf("empty page = %#v", page)
		}
		// The unknown mailbox bounced bob: the next run plans only alice
		// (erin left).
		c, found, err := f.B.LookupSubscriber(ctx, "bob@example.org")
		ok(t, err)
		if !found || c.SubscriberID != bob {
			t.Fatalf("lookup = %+v, %v", c, found)
		}
		if _, found := must2(f.B.LookupSubscriber(ctx, "nobody@example.org")).get(t); found {
			t.Fatal("found a missing subscriber")
		}
		f.AddArticle(t, "a2", later, false)
		run2, _, err := planWith(f.A, planReq(later.Add(time.Hour), digest.KindScheduled, 0))
		ok(t, err)
		if run2.Recipients != 1 {
			t.Fatalf("a bounced subscriber got a delivery: recipients %d", run2.Recipients)
		}
		ls := must(f.A.LastDigestSuccess(ctx)).get(t)
		if ls["monthly"] != float64(later.UnixMilli())/1000 {
			t.Fatalf("last success = %v", ls)
		}
		archive := must(f.A.ListRuns(ctx, "monthly", true, 10)).get(t)
		if len(archive) != 1 || archive[0].ID != run.ID {
			t.Fatalf("archive = %+v", archive)
		}
		all := must(f.A.ListRuns(ctx, "", false, 1)).get(t)
		if len(all) != 1 || all[0].ID != run2.ID {
			t.Fatalf("newest run = %+v", all)
		}
	})

	t.Run("BounceRule", func(t *testing.T) {
		// digest.Bounce.Bounces decides: an unknown mailbox bounces an
		// active subscriber at once, hard failures at the limit, soft ones
		// never. Each run is planned for the subscribers still active.
		f := open(t)
		unknown := f.AddSubscriber(t, "unknown@example.org", "active", []string{"monthly"})
		hard := f.AddSubscriber(t, "hard@example.org", "active", []string{"monthly"})
		soft := f.AddSubscriber(t, "soft@example.org", "active", []string{"monthly"})
		bounce := map[int64]digest.Bounce{unknown: digest.BounceUnknownUser, hard: digest.BounceHard, soft: digest.BounceSoft}
		name := map[int64]string{unknown: "unknown", hard: "hard", soft: "soft"}
		if digest.BounceHard.Bounces(digest.HardBounceLimit-1) || !digest.BounceHard.Bounces(digest.HardBounceLimit) {
			t.Fatal("the rule changed: this test expects the limit to bounce")
		}
		for i := range digest.HardBounceLimit + 1 {
			want := []string{"hard", "soft"} // planned for, by id
			switch {
			case i == 0:
				want = []string{"unknown", "hard", "soft"}
			case i == digest.HardBounceLimit:
				want = []string{"soft"}
			}
			slot := d0.Add(time.Duration(i) * time.Hour)
			req := planReq(slot, digest.KindManual, 0)
			req.SendIfEmpty = true
			run, _, err := planWith(f.A, req)
			ok(t, err)
			cs := must(f.B.ClaimDeliveries(ctx, run.ID, "monthly", 10, slot, time.Minute)).get(t)
			var got []string
			var outs []digest.Outcome
			for _, c := range cs {
				got = append(got, name[c.SubscriberID])
				outs = append(outs, digest.Outcome{SubscriberID: c.SubscriberID, Status: digest.DeliveryFailed, Reply: "550 no",
					At: slot, Lease: c.LeaseUntil, Bounce: bounce[c.SubscriberID]})
			}
			if !eq(got, want) {
				t.Fatalf("run %d went to %v, want %v", i+1, got, want)
			}
			ok(t, f.B.RecordOutcomes(ctx, run.ID, outs))
		}
		sc := must(f.A.SubscriberStatusCounts(ctx)).get(t)
		if sc["bounced"] != 2 || sc["active"] != 1 {
			t.Errorf("subscriber counts = %v, want 2 bounced, 1 active", sc)
		}
	})

	t.Run("LeaseExpiry", func(t *testing.T) {
		f := open(t)
		run := runWith(t, f, 1)
		cs := must(f.A.ClaimDeliveries(ctx, run.ID, "monthly", 10, d0, time.Minute)).get(t)
		if len(cs) != 1 {
			t.Fatalf("claims = %+v", cs)
		}
		// While the lease lives, the other handle gets nothing.
		if got := must(f.B.ClaimDeliveries(ctx, run.ID, "monthly", 10, d0.Add(59*time.Second), time.Minute)).get(t); len(got) != 0 {
			t.Fatalf("claimed a leased row: %+v", got)
		}
		due, found := must2(f.B.NextDue(ctx, run.ID)).get(t)
		if !found || !due.Equal(d0.Add(time.Minute)) {
			t.Fatalf("next due = %v, %v", due, found)
		}
		// The first worker dies; its lease runs out and the row returns.
		late := d0.Add(2 * time.Minute)
		again := must(f.B.ClaimDeliveries(ctx, run.ID, "monthly", 10, late, time.Minute)).get(t)
		if len(again) != 1 || again[0].SubscriberID != cs[0].SubscriberID || again[0].Attempts != 2 {
			t.Fatalf("claims after expiry = %+v", again)
		}
		// The stale claim's retry and release are refused.
		ok(t, f.A.RecordOutcomes(ctx, run.ID, []digest.Outcome{
			{SubscriberID: cs[0].SubscriberID, Status: digest.DeliveryPending, At: late, NextAttempt: late, Lease: cs[0].LeaseUntil},
		}))
		ok(t, f.A.RecordOutcomes(ctx, run.ID, []digest.Outcome{
			{SubscriberID: cs[0].SubscriberID, Status: digest.DeliveryPending, Release: true, At: late, Lease: cs[0].LeaseUntil},
		}))
		if c := counts(t, f.A, run.ID); c.Sending != 1 || c.Pending != 0 {
			t.Fatalf("a stale claim moved the row: %+v", c)
		}
		// The holder's release gives the attempt back.
		ok(t, f.B.RecordOutcomes(ctx, run.ID, []digest.Outcome{
			{SubscriberID: again[0].SubscriberID, Status: digest.DeliveryPending, Release: true, At: late, Lease: again[0].LeaseUntil},
		}))
		third := must(f.A.ClaimDeliveries(ctx, run.ID, "monthly", 10, late, time.Minute)).get(t)
		if len(third) != 1 || third[0].Attempts != 2 {
			t.Fatalf("claims after release = %+v", third)
		}
		// Sent is never downgraded.
		ok(t, f.A.RecordOutcomes(ctx, run.ID, []digest.Outcome{
			{SubscriberID: third[0].SubscriberID, Status: digest.DeliverySent, Reply: "250", At: late, Lease: third[0].LeaseUntil},
		}))
		ok(t, f.B.RecordOutcomes(ctx, run.ID, []digest.Outcome{
			{SubscriberID: third[0].SubscriberID, Status: digest.DeliveryFailed, Reply: "421", At: late, Lease: again[0].LeaseUntil},
		}))
		if c := counts(t, f.A, run.ID); c != (digest.Counts{Planned: 1, Sent: 1}) {
			t.Fatalf("counts = %+v", c)
		}
	})

	t.Run("RecordBatch", func(t *testing.T) {
		// One batch mixing every kind of outcome, with replies holding what
		// a batched statement must carry exactly: quotes, backslashes,
		// control characters, non-ASCII.
		f := open(t)
		run := runWith(t, f, 6)
		cs := must(f.A.ClaimDeliveries(ctx, run.ID, "monthly", 10, d0, time.Minute)).get(t)
		if len(cs) != 6 {
			t.Fatalf("claimed %d", len(cs))
		}
		replies := []string{"250 accepted", `550 "no" \\ such`, "554 tab\there\x01", "250 ok ✓ åäö", "550 \u2028 line separator"}
		var outs []digest.Outcome
		for i, r := range replies {
			st := digest.DeliverySent
			if r[0] == '5' {
				st = digest.DeliveryFailed
			}
			outs = append(outs, digest.Outcome{SubscriberID: cs[i].SubscriberID, Status: st, Reply: r,
				MessageID: fmt.Sprintf("digest.%d.%d@example.org", run.ID, cs[i].SubscriberID), At: d0.Add(time.Duration(i) * time.Second), Lease: cs[i].LeaseUntil})
		}
		outs = append(outs, digest.Outcome{SubscriberID: cs[5].SubscriberID, Status: digest.DeliveryPending, Reply: "451 later",
			At: d0, NextAttempt: d0.Add(time.Hour), Lease: cs[5].LeaseUntil})
		ok(t, f.B.RecordOutcomes(ctx, run.ID, outs))
		want := map[int64]digest.Outcome{}
		for _, o := range outs {
			want[o.SubscriberID] = o
		}
		ok(t, f.A.Deliveries(ctx, run.ID, func(d digest.DeliveryRow) error {
			o := want[d.SubscriberID]
			if d.Status != o.Status || d.Reply != o.Reply {
				t.Errorf("delivery %d: %s %q, want %s %q", d.SubscriberID, d.Status, d.Reply, o.Status, o.Reply)
			}
			if o.Status != digest.DeliveryPending && (d.MessageID != o.MessageID || !d.SentAt.Equal(o.At)) {
				t.Errorf("delivery %d: message id %q sent %v, want %q %v", d.SubscriberID, d.MessageID, d.SentAt, o.MessageID, o.At)
			}
			return nil
		}))
		if c := counts(t, f.A, run.ID); c != (digest.Counts{Planned: 6, Sent: 2, Failed: 3, Pending: 1}) {
			t.Fatalf("counts = %+v", c)
		}
	})

	t.Run("Control", func(t *testing.T) {
		f := open(t)
		run := runWith(t, f, 3)
		_, err := f.A.ResumeRun(ctx, run.ID, d0)
		if !errors.Is(err, digest.ErrRunState) {
			t.Fatalf("resume a planned run: %v", err)
		}
		sameErr(t, "resume a planned run", err, digest.RunStateError(run.ID, "planned", []digest.RunStatus{digest.RunPaused}, digest.RunSending))
		for _, fn := range []func(context.Context, int64, time.Time) (*digest.Run, error){f.A.PauseRun, f.A.ResumeRun, f.A.CancelRun} {
			_, err := fn(ctx, run.ID+100, d0)
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("missing run: %v", err)
			}
			sameErr(t, "missing run", err, digest.RunNotFound(run.ID+100))
		}
		r := must(f.A.PauseRun(ctx, run.ID, d0)).get(t)
		if r.Status != digest.RunPaused {
			t.Fatalf("paused = %+v", r)
		}
		if cs := must(f.B.ClaimDeliveries(ctx, run.ID, "monthly", 10, d0, time.Minute)).get(t); len(cs) != 0 {
			t.Fatalf("claimed from a paused run: %+v", cs)
		}
		if act := must(f.B.ActiveRuns(ctx)).get(t); len(act) != 0 {
			t.Fatalf("active = %+v", act)
		}
		r = must(f.B.ResumeRun(ctx, run.ID, d0.Add(time.Minute))).get(t)
		if r.Status != digest.RunSending || !r.StartedAt.Equal(d0.Add(time.Minute)) {
			t.Fatalf("resumed = %+v", r)
		}
		cs := must(f.B.ClaimDeliveries(ctx, run.ID, "monthly", 1, d0, time.Minute)).get(t)
		if len(cs) != 1 {
			t.Fatalf("claims = %+v", cs)
		}
		end := d0.Add(2 * time.Minute)
		r = must(f.A.CancelRun(ctx, run.ID, end)).get(t)
		if r.Status != digest.RunCancelled || !r.FinishedAt.Equal(end) {
			t.Fatalf("cancelled = %+v", r)
		}
		if c := counts(t, f.A, run.ID); c != (digest.Counts{Planned: 3, Skipped: 3}) {
			t.Fatalf("counts after cancel = %+v", c)
		}
		// The message in hand still records its real outcome.
		ok(t, f.B.RecordOutcomes(ctx, run.ID, []digest.Outcome{
			{SubscriberID: cs[0].SubscriberID, Status: digest.DeliverySent, At: end, Lease: cs[0].LeaseUntil},
		}))
		if c := counts(t, f.A, run.ID); c != (digest.Counts{Planned: 3, Sent: 1, Skipped: 2}) {
			t.Fatalf("counts after the late outcome = %+v", c)
		}
		_, err = f.B.PauseRun(ctx, run.ID, end)
		if !errors.Is(err, digest.ErrRunState) {
			t.Fatalf("pause a cancelled run: %v", err)
		}
		sameErr(t, "pause a cancelled run", err,
			digest.RunStateError(run.ID, "cancelled", []digest.RunStatus{digest.RunPlanned, digest.RunSending}, digest.RunPaused))
		if failed := must(f.B.FailRun(ctx, run.ID, end, "x")).get(t); failed {
			t.Fatal("failed a cancelled run")
		}
	})

	t.Run("FailRun", func(t *testing.T) {
		f := open(t)
		run := runWith(t, f, 2)
		cs := must(f.A.ClaimDeliveries(ctx, run.ID, "monthly", 1, d0, time.Minute)).get(t)
		if len(cs) != 1 {
			t.Fatalf("claims = %+v", cs)
		}
		if failed := must(f.B.FailRun(ctx, run.ID, d0, "smtp gone")).get(t); !failed {
			t.Fatal("not failed")
		}
		r := must(f.A.GetRun(ctx, run.ID)).get(t)
		if r.Status != digest.RunFailed || r.Failure != "smtp gone" || !r.FinishedAt.Equal(d0) {
			t.Fatalf("run = %+v", r)
		}
		page := must(f.A.ListDeliveries(ctx, run.ID, digest.DeliveryFilter{Status: digest.DeliverySkipped}, 0, 10)).get(t)
		if len(page) != 2 || page[0].Reply != "run failed: smtp gone" {
			t.Fatalf("skipped = %+v", page)
		}
		// Its article is released to the next run.
		_, arts, err := planWith(f.B, planReq(d0.Add(time.Hour), digest.KindScheduled, 0))
		ok(t, err)
		if !eq(arts, []string{"a1"}) {
			t.Fatalf("next run carried %v", arts)
		}
		if fr := must(f.A.FailedRuns(ctx)).get(t); fr["monthly"] != 1 {
			t.Fatalf("failed runs = %v", fr)
		}
	})

	t.Run("Retention", func(t *testing.T) {
		f := open(t)
		run := runWith(t, f, 3)
		cs := must(f.A.ClaimDeliveries(ctx, run.ID, "monthly", 3, d0, time.Minute)).get(t)
		if len(cs) != 3 {
			t.Fatalf("claims = %+v", cs)
		}
		ok(t, f.A.RecordOutcomes(ctx, run.ID, []digest.Outcome{
			{SubscriberID: cs[0].SubscriberID, Status: digest.DeliverySent, At: d0, Lease: cs[0].LeaseUntil},
			{SubscriberID: cs[1].SubscriberID, Status: digest.DeliverySent, At: d0, Lease: cs[1].LeaseUntil},
			{SubscriberID: cs[2].SubscriberID, Status: digest.DeliveryFailed, At: d0, Lease: cs[2].LeaseUntil},
		}))
		if !must(f.A.FinishRun(ctx, run.ID, d0)).get(t) {
			t.Fatal("not finished")
		}
		before := must(f.A.DeliveryStatusCounts(ctx)).get(t)
		want := map[string]int{"pending": 0, "sending": 0, "sent": 2, "failed": 1, "skipped": 0, "bounced": 0}
		if fmt.Sprint(before) != fmt.Sprint(want) {
			t.Fatalf("status counts = %v", before)
		}
		// A cutoff at the finish keeps the run's rows.
		if n := must(f.B.PruneDeliveries(ctx, d0, d0)).get(t); n != 0 {
			t.Fatalf("pruned %d before the cutoff", n)
		}
		if n := must(f.B.PruneDeliveries(ctx, d0.Add(time.Second), d0)).get(t); n != 3 {
			t.Fatalf("pruned %d, want 3", n)
		}
		if n := must(f.A.PruneDeliveries(ctx, d0.Add(time.Second), d0)).get(t); n != 0 {
			t.Fatalf("pruned %d again", n)
		}
		if c := counts(t, f.A, run.ID); c != (digest.Counts{Planned: 3, Sent: 2, Failed: 1}) {
			t.Fatalf("counts after prune = %+v", c)
		}
		if after := must(f.B.DeliveryStatusCounts(ctx)).get(t); fmt.Sprint(after) != fmt.Sprint(want) {
			t.Fatalf("status counts after prune = %v", after)
		}
		var n int
		ok(t, f.A.Deliveries(ctx, run.ID, func(digest.DeliveryRow) error { n++; return nil }))
		if n != 0 {
			t.Fatalf("%d rows left", n)
		}
	})

	t.Run("ConcurrentClaims", func(t *testing.T) {
		f := open(t)
		const subscribers, workers, batch = 120, 8, 7
		run := runWith(t, f, subscribers)
		// Workers on two handles claim and settle the run together, each
		// under a lease that outlives the test: no row is claimed twice.
		var mu sync.Mutex
		claimed := map[int64]int{}
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			s := f.A
			if w%2 == 1 {
				s = f.B
			}
			wg.Go(func() {
				for {
					cs, err := s.ClaimDeliveries(ctx, run.ID, "monthly", batch, d0, time.Hour)
					if err != nil {
						errs <- err
						return
					}
					if len(cs) == 0 {
						return
					}
					outs := make([]digest.Outcome, len(cs))
					mu.Lock()
					for i, c := range cs {
						claimed[c.SubscriberID]++
						outs[i] = digest.Outcome{SubscriberID: c.SubscriberID, Status: digest.DeliverySent, At: d0, Lease: c.LeaseUntil}
					}
					mu.Unlock()
					if err := s.RecordOutcomes(ctx, run.ID, outs); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(claimed) != subscribers {
			t.Fatalf("%d rows claimed, want %d", len(claimed), subscribers)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Fatalf("subscriber %d claimed %d times", id, n)
			}
		}
		if c := counts(t, f.A, run.ID); c != (digest.Counts{Planned: subscribers, Sent: subscribers}) {
			t.Fatalf("counts = %+v", c)
		}
	})

	t.Run("ConcurrentExpiry", func(t *testing.T) {
		f := open(t)
		const subscribers = 40
		run := runWith(t, f, subscribers)
		stale := must(f.A.ClaimDeliveries(ctx, run.ID, "monthly", subscribers, d0, time.Minute)).get(t)
		if len(stale) != subscribers {
			t.Fatalf("claimed %d", len(stale))
		}
		// The first worker stalls past its lease; two handles take the rows
		// over while it reports retries for them.
		late := d0.Add(2 * time.Minute)
		var mu sync.Mutex
		taken := map[int64]digest.Claim{}
		var wg sync.WaitGroup
		errs := make(chan error, 5)
		for _, s := range []DigestStore{f.A, f.B, f.A, f.B} {
			wg.Go(func() {
				for {
					cs, err := s.ClaimDeliveries(ctx, run.ID, "monthly", 3, late, time.Hour)
					if err != nil {
						errs <- err
						return
					}
					if len(cs) == 0 {
						return
					}
					mu.Lock()
					for _, c := range cs {
						if _, dup := taken[c.SubscriberID]; dup {
							errs <- fmt.Errorf("subscriber %d taken twice", c.SubscriberID)
						}
						taken[c.SubscriberID] = c
					}
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			for _, c := range stale {
				err := f.B.RecordOutcomes(ctx, run.ID, []digest.Outcome{
					{SubscriberID: c.SubscriberID, Status: digest.DeliveryPending, At: late, NextAttempt: late, Lease: c.LeaseUntil}})
				if err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(taken) != subscribers {
			t.Fatalf("%d rows taken over, want %d", len(taken), subscribers)
		}
		for _, c := range taken {
			if c.Attempts != 2 {
				t.Fatalf("claim %+v: attempts %d, want 2", c, c.Attempts)
			}
		}
		if c := counts(t, f.B, run.ID); c != (digest.Counts{Planned: subscribers, Sending: subscribers}) {
			t.Fatalf("stale retries moved rows: %+v", c)
		}
	})
}

// result2 is result for calls that also say whether they found something.
type result2[T any] struct {
	v     T
	found bool
	err   error
}

func must2[T any](v T, found bool, err error) result2[T] { return result2[T]{v, found, err} }

// get returns the values, failing t if the call failed.
func (r result2[T]) get(t *testing.T) (T, bool) {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v, r.found
}
