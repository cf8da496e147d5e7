package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
)

func openDigestTest(t testing.TB) *Store {
	t.Helper()
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

func addArticle(t testing.TB, st *Store, slug string, published time.Time, draft bool, tags ...string) {
	t.Helper()
	a := &article.Article{Slug: slug, Title: "Title " + slug, Published: published, Draft: draft,
		Source: article.SourceAPI, ContentHash: slug}
	for _, tg := range tags {
		a.Tags = append(a.Tags, article.Tag{Name: tg, Slug: tg})
	}
	if _, err := st.UpsertArticle(context.Background(), a, published); err != nil {
		t.Fatal(err)
	}
}

// addSubscriber inserts a subscriber directly (the subscribe engine owns
// the real path) and returns its id.
func addSubscriber(t testing.TB, st *Store, email, status string, newsletters []string, tags ...string) int64 {
	t.Helper()
	ctx := context.Background()
	res, err := st.w.ExecContext(ctx, `INSERT INTO subscribers (email, name, status, created_at, updated_at) VALUES (?, ?, ?, 0, 0)`,
		email, "Name of "+email, status)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	for _, n := range newsletters {
		if _, err := st.w.ExecContext(ctx, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at) VALUES (?, ?, 0)`, n, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, tg := range tags {
		if _, err := st.w.ExecContext(ctx, `INSERT INTO subscriber_tags (subscriber_id, tag_slug) VALUES (?, ?)`, id, tg); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func plan(t testing.TB, st *Store, slot time.Time, kind digest.Kind, max int, tags ...string) (*digest.Run, []string, error) {
	t.Helper()
	var got []string
	req := digest.PlanRequest{
		Selection: digest.Selection{Newsletter: "monthly", Tags: tags, SlotAt: slot, FirstWindow: 30 * 24 * time.Hour, MaxArticles: max},
		Slot:      string(kind) + slot.Format(time.RFC3339), Kind: kind, Now: slot,
	}
	run, err := st.PlanRun(context.Background(), req, func(r *digest.Run, arts []article.Article) ([]digest.Variant, error) {
		for _, a := range arts {
			got = append(got, a.Slug)
		}
		return []digest.Variant{{Key: digest.VariantAll, Subject: fmt.Sprintf("run %d", r.ID), HTML: "<p>x</p>", Text: "x"}}, nil
	})
	return run, got, err
}

func TestPlanRunSelection(t *testing.T) {
	st := openDigestTest(t)
	day := 24 * time.Hour
	addArticle(t, st, "ancient", t0.Add(-40*day), false)        // before the horizon: never goes
	addArticle(t, st, "a1", t0.Add(-20*day), false, "ports")    //
	addArticle(t, st, "a2", t0.Add(-10*day), false, "training") //
	addArticle(t, st, "a3", t0.Add(-5*day), false, "ports")     //
	addArticle(t, st, "draft", t0.Add(-3*day), true)            // draft: never
	addArticle(t, st, "future", t0.Add(2*day), false)           // after the slot: next time

	run, got, err := plan(t, st, t0, digest.KindScheduled, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a3", "a2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("first run carries %v, want %v (the newest max_articles)", got, want)
	}
	if run.Subject != fmt.Sprintf("run %d", run.ID) || run.Status != digest.RunPlanned {
		t.Fatalf("run = %+v", run)
	}
	stt, ok, err := st.NewsletterState(context.Background(), "monthly")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if !stt.Horizon.Equal(t0.Add(-30*day)) || !stt.LastSlotAt.Equal(t0) {
		t.Fatalf("state = %+v", stt)
	}

	// The same slot again (restart, another instance, DST repeat).
	if _, _, err := plan(t, st, t0, digest.KindScheduled, 2); !errors.Is(err, digest.ErrAlreadyPlanned) {
		t.Fatalf("replan: %v, want ErrAlreadyPlanned", err)
	}

	// A back-dated article imported late still goes out once, after the
	// one that waited; the horizon stays where the first run fixed it.
	addArticle(t, st, "late", t0.Add(-25*day), false)
	next := t0.Add(31 * day)
	_, got, err = plan(t, st, next, digest.KindScheduled, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"future", "a1", "late"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("second run carries %v, want %v", got, want)
	}
	// Nothing left: the third run is skipped and composes nothing.
	run, got, err = plan(t, st, next.Add(31*day), digest.KindScheduled, 10)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != digest.RunSkipped || len(got) != 0 || run.Recipients != 0 {
		t.Fatalf("empty run = %+v, %v", run, got)
	}
}

func TestPlanRunTagsAndTest(t *testing.T) {
	st := openDigestTest(t)
	addArticle(t, st, "p", t0.Add(-time.Hour), false, "ports")
	addArticle(t, st, "q", t0.Add(-2*time.Hour), false, "training")
	// A test run shows what would go out and changes no window.
	run, got, err := plan(t, st, t0, digest.KindTest, 10, "ports")
	if err != nil || fmt.Sprint(got) != "[p]" || run.Status != digest.RunDone || run.Recipients != 0 {
		t.Fatalf("test run %+v %v %v", run, got, err)
	}
	if _, ok, _ := st.NewsletterState(context.Background(), "monthly"); ok {
		t.Fatal("a test run fixed the horizon")
	}
	_, got, err = plan(t, st, t0, digest.KindManual, 10, "ports")
	if err != nil || fmt.Sprint(got) != "[p]" {
		t.Fatalf("manual run %v %v", got, err)
	}
	stt, _, _ := st.NewsletterState(context.Background(), "monthly")
	if !stt.LastSlotAt.IsZero() {
		t.Fatalf("a manual run counted as a schedule slot: %+v", stt)
	}
}

func TestDeliveries(t *testing.T) {
	ctx := context.Background()
	st := openDigestTest(t)
	addArticle(t, st, "p", t0.Add(-time.Hour), false, "ports")
	a := addSubscriber(t, st, "a@example.org", "active", []string{"monthly"})
	b := addSubscriber(t, st, "b@example.org", "active", []string{"monthly"}, "ports", "training")
	addSubscriber(t, st, "c@example.org", "pending", []string{"monthly"})
	addSubscriber(t, st, "d@example.org", "active", []string{"weekly"})
	e := addSubscriber(t, st, "e@example.org", "active", []string{"monthly"})
	f := addSubscriber(t, st, "f@example.org", "active", []string{"monthly"})

	run, _, err := plan(t, st, t0, digest.KindScheduled, 10)
	if err != nil {
		t.Fatal(err)
	}
	if run.Recipients != 4 {
		t.Fatalf("planned %d deliveries, want 4 (active subscribers of monthly)", run.Recipients)
	}
	// e unsubscribes during the run: honoured at claim time.
	if _, err := st.w.ExecContext(ctx, `DELETE FROM subscriptions WHERE subscriber_id = ?`, e); err != nil {
		t.Fatal(err)
	}
	now := t0
	claims, err := st.ClaimDeliveries(ctx, run.ID, "monthly", 2, now, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 2 || claims[0].SubscriberID != a || claims[1].SubscriberID != b {
		t.Fatalf("claims = %+v", claims)
	}
	if claims[1].Email != "b@example.org" || fmt.Sprint(claims[1].Tags) != "[ports training]" || claims[0].Attempts != 1 {
		t.Fatalf("claim b = %+v", claims[1])
	}
	// A second worker gets the rest; e is settled skipped, not handed out.
	more, err := st.ClaimDeliveries(ctx, run.ID, "monthly", 10, now, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(more) != 1 || more[0].SubscriberID != f {
		t.Fatalf("second claim = %+v", more)
	}
	// Nothing more while the leases live.
	if c, _ := st.ClaimDeliveries(ctx, run.ID, "monthly", 10, now.Add(29*time.Second), 30*time.Second); len(c) != 0 {
		t.Fatalf("claimed leased rows: %+v", c)
	}
	// a is sent, b retries later, f's worker dies: after its lease f is back.
	err = st.RecordOutcomes(ctx, run.ID, []digest.Outcome{
		{SubscriberID: a, Status: digest.DeliverySent, Reply: "250 ok", MessageID: "m1", At: now},
		{SubscriberID: b, Status: digest.DeliveryPending, Reply: "451 later", NextAttempt: now.Add(time.Minute), At: now, Lease: claims[1].LeaseUntil},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := st.ClaimDeliveries(ctx, run.ID, "monthly", 10, now.Add(31*time.Second), 30*time.Second)
	if len(c) != 1 || c[0].SubscriberID != f || c[0].Attempts != 2 {
		t.Fatalf("after lease expiry: %+v", c)
	}
	due, ok, err := st.NextDue(ctx, run.ID)
	if err != nil || !ok || !due.Equal(now.Add(time.Minute)) {
		t.Fatalf("next due %v %v %v", due, ok, err)
	}
	// f: 550 unknown user → failed, subscriber bounced.
	err = st.RecordOutcomes(ctx, run.ID, []digest.Outcome{
		{SubscriberID: f, Status: digest.DeliveryFailed, Reply: "550 5.1.1 no such user", At: now, Bounce: digest.BounceUnknownUser},
		// A late retry for a, which another process sent: never downgraded.
		{SubscriberID: a, Status: digest.DeliveryFailed, Reply: "late", At: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	var status string
	var hard int
	st.r.QueryRowContext(ctx, `SELECT status, hard_failures FROM subscribers WHERE id = ?`, f).Scan(&status, &hard)
	if status != "bounced" || hard != 1 {
		t.Fatalf("f is %s with %d hard failures", status, hard)
	}
	if done, _ := st.FinishRun(ctx, run.ID, now); done {
		t.Fatal("finished with b pending")
	}
	c, _ = st.ClaimDeliveries(ctx, run.ID, "monthly", 10, now.Add(2*time.Minute), 30*time.Second)
	if len(c) != 1 || c[0].SubscriberID != b {
		t.Fatalf("retry claim %+v", c)
	}
	st.RecordOutcomes(ctx, run.ID, []digest.Outcome{{SubscriberID: b, Status: digest.DeliverySent, Reply: "250", At: now}})
	if done, err := st.FinishRun(ctx, run.ID, now); !done || err != nil {
		t.Fatalf("finish: %v %v", done, err)
	}
	counts, err := st.RunCounts(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := (digest.Counts{Planned: 4, Sent: 2, Failed: 1, Skipped: 1}); counts != want {
		t.Fatalf("counts %+v, want %+v", counts, want)
	}
	var rows []digest.DeliveryRow
	st.Deliveries(ctx, run.ID, func(d digest.DeliveryRow) error { rows = append(rows, d); return nil })
	if len(rows) != 4 || rows[0].Status != digest.DeliverySent || rows[0].MessageID != "m1" || rows[2].Reply != "unsubscribed from monthly" {
		t.Fatalf("deliveries %+v", rows)
	}
	runs, _ := st.ListRuns(ctx, "", true, 0)
	if len(runs) != 1 || runs[0].Status != digest.RunDone {
		t.Fatalf("archive runs %+v", runs)
	}

	// Retention: rows of runs finished before the cutoff are summarised
	// into the run and deleted; the counts stay.
	if n, err := st.PruneDeliveries(ctx, now, now); err != nil || n != 0 {
		t.Fatalf("prune of a run finished at the cutoff: %d %v", n, err)
	}
	n, err := st.PruneDeliveries(ctx, now.Add(time.Second), now.Add(time.Hour))
	if err != nil || n != 4 {
		t.Fatalf("pruned %d rows (%v), want 4", n, err)
	}
	if counts, err := st.RunCounts(ctx, run.ID); err != nil || (counts != digest.Counts{Planned: 4, Sent: 2, Failed: 1, Skipped: 1}) {
		t.Fatalf("counts after prune %+v %v", counts, err)
	}
	rows = nil
	st.Deliveries(ctx, run.ID, func(d digest.DeliveryRow) error { rows = append(rows, d); return nil })
	if len(rows) != 0 {
		t.Fatalf("rows left after prune: %d", len(rows))
	}
	if n, _ := st.PruneDeliveries(ctx, now.Add(time.Second), now.Add(time.Hour)); n != 0 {
		t.Fatalf("second prune deleted %d", n)
	}
}

func TestVariants(t *testing.T) {
	ctx := context.Background()
	st := openDigestTest(t)
	addArticle(t, st, "p", t0.Add(-time.Hour), false, "ports")
	run, _, err := plan(t, st, t0, digest.KindScheduled, 10)
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.PutVariant(ctx, run.ID, digest.Variant{Key: "a:1", Subject: "s", HTML: "first", Text: "t"})
	if err != nil || v.HTML != "first" {
		t.Fatal(v, err)
	}
	v, _ = st.PutVariant(ctx, run.ID, digest.Variant{Key: "a:1", Subject: "s", HTML: "second", Text: "t"})
	if v.HTML != "first" {
		t.Fatalf("a second composition replaced the kept variant: %q", v.HTML)
	}
	arts, err := st.RunArticles(ctx, run.ID)
	if err != nil || len(arts) != 1 || arts[0].Tags[0].Slug != "ports" {
		t.Fatalf("run articles %+v %v", arts, err)
	}
}

// BenchmarkPlanDeliveries plans one run to 1,000,000 subscribers: the
// single INSERT … SELECT (target: < 10 s).
func BenchmarkPlanDeliveries(b *testing.B) {
	ctx := context.Background()
	st := openDigestTest(b)
	const n = 1_000_000
	addArticle(b, st, "p", t0.Add(-time.Hour), false)
	if _, err := st.w.ExecContext(ctx, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO subscribers (id, email, status, created_at, updated_at) SELECT i, 'user' || i || '@example.org', 'active', 0, 0 FROM seq`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := st.w.ExecContext(ctx, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at) SELECT 'monthly', id, 0 FROM subscribers`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		slot := t0.Add(time.Duration(i) * time.Minute)
		req := digest.PlanRequest{Selection: digest.Selection{Newsletter: "monthly", SlotAt: slot, MaxArticles: 10},
			Slot: slot.Format(time.RFC3339), Kind: digest.KindManual, SendIfEmpty: true, Now: slot}
		run, err := st.PlanRun(ctx, req, func(*digest.Run, []article.Article) ([]digest.Variant, error) { return nil, nil })
		if err != nil {
			b.Fatal(err)
		}
		if run.Recipients != n {
			b.Fatalf("planned %d", run.Recipients)
		}
	}
}

// BenchmarkClaimRecord is the store's share of delivering one batch: claim
// 64 deliveries (with their subscribers' addresses and tags) and record
// them sent, as the digest workers do, on a run to 100,000 subscribers.
// ns/op is per batch of 64 messages.
func BenchmarkClaimRecord(b *testing.B) {
	ctx := context.Background()
	st := openDigestTest(b)
	const n, batch = 100_000, 64
	addArticle(b, st, "p", t0.Add(-time.Hour), false)
	if _, err := st.w.ExecContext(ctx, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO subscribers (id, email, name, status, created_at, updated_at) SELECT i, 'user' || i || '@example.org', 'User ' || i, 'active', 0, 0 FROM seq`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := st.w.ExecContext(ctx, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at) SELECT 'monthly', id, 0 FROM subscribers`); err != nil {
		b.Fatal(err)
	}
	run, _, err := plan(b, st, t0, digest.KindManual, 10)
	if err != nil {
		b.Fatal(err)
	}
	outs := make([]digest.Outcome, 0, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs, err := st.ClaimDeliveries(ctx, run.ID, "monthly", batch, t0, time.Hour)
		if err != nil || len(cs) == 0 {
			b.Fatalf("claim %d: %d rows, %v (use -benchtime Nx with N ≤ %d)", i, len(cs), err, n/batch)
		}
		outs = outs[:0]
		for _, c := range cs {
			outs = append(outs, digest.Outcome{SubscriberID: c.SubscriberID, Status: digest.DeliverySent, Reply: "250 accepted",
				MessageID: fmt.Sprintf("digest.%d.%d@example.org", run.ID, c.SubscriberID), At: t0, Lease: c.LeaseUntil})
		}
		if err := st.RecordOutcomes(ctx, run.ID, outs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRecordNotUTF8: a reply that is not UTF-8 (a server's bytes) is
// stored as given, outside the batched statement that JSON carries.
func TestRecordNotUTF8(t *testing.T) {
	ctx := context.Background()
	st := openDigestTest(t)
	addArticle(t, st, "p", t0.Add(-time.Hour), false)
	addSubscriber(t, st, "a@example.org", "active", []string{"monthly"})
	addSubscriber(t, st, "b@example.org", "active", []string{"monthly"})
	run, _, err := plan(t, st, t0, digest.KindScheduled, 10)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := st.ClaimDeliveries(ctx, run.ID, "monthly", 10, t0, time.Minute)
	if err != nil || len(cs) != 2 {
		t.Fatalf("claim: %v %v", cs, err)
	}
	replies := map[int64]string{cs[0].SubscriberID: "550 \xff\xfe not UTF-8", cs[1].SubscriberID: "250 accepted"}
	var outs []digest.Outcome
	for _, c := range cs {
		outs = append(outs, digest.Outcome{SubscriberID: c.SubscriberID, Status: digest.DeliveryFailed, Reply: replies[c.SubscriberID], At: t0, Lease: c.LeaseUntil})
	}
	if err := st.RecordOutcomes(ctx, run.ID, outs); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := st.Deliveries(ctx, run.ID, func(d digest.DeliveryRow) error {
		n++
		if d.Status != digest.DeliveryFailed || d.Reply != replies[d.SubscriberID] {
			t.Errorf("delivery %d: %s %q", d.SubscriberID, d.Status, d.Reply)
		}
		return nil
	}); err != nil || n != 2 {
		t.Fatal(n, err)
	}
}
