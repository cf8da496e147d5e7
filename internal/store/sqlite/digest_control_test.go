package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/store"
)

// runWith plans a run of n active subscribers and returns it.
func runWith(t *testing.T, st *Store, n int) *digest.Run {
	t.Helper()
	addArticle(t, st, "a1", t0.Add(-time.Hour), false)
	for i := 0; i < n; i++ {
		addSubscriber(t, st, fmt.Sprintf("r%d@example.net", i), "active", []string{"monthly"})
	}
	run, _, err := plan(t, st, t0, digest.KindScheduled, 10)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// TestRunTransitions walks every status through pause, resume and cancel:
// allowed moves change the status, the rest are ErrRunState (409 in the
// API), an unknown run is store.ErrNotFound.
func TestRunTransitions(t *testing.T) {
	ctx := context.Background()
	type op func(*Store, context.Context, int64, time.Time) (*digest.Run, error)
	pause, resume, cancel := (*Store).PauseRun, (*Store).ResumeRun, (*Store).CancelRun
	for _, tc := range []struct {
		name string
		from digest.RunStatus
		op   op
		want digest.RunStatus // "" : ErrRunState
	}{
		{"PausePlanned", digest.RunPlanned, pause, digest.RunPaused},
		{"PauseSending", digest.RunSending, pause, digest.RunPaused},
		{"ErrPausePaused", digest.RunPaused, pause, ""},
		{"ErrPauseDone", digest.RunDone, pause, ""},
		{"ErrPauseCancelled", digest.RunCancelled, pause, ""},
		{"ResumePaused", digest.RunPaused, resume, digest.RunSending},
		{"ErrResumeSending", digest.RunSending, resume, ""},
		{"ErrResumeDone", digest.RunDone, resume, ""},
		{"CancelPlanned", digest.RunPlanned, cancel, digest.RunCancelled},
		{"CancelSending", digest.RunSending, cancel, digest.RunCancelled},
		{"CancelPaused", digest.RunPaused, cancel, digest.RunCancelled},
		{"ErrCancelDone", digest.RunDone, cancel, ""},
		{"ErrCancelSkipped", digest.RunSkipped, cancel, ""},
		{"ErrCancelCancelled", digest.RunCancelled, cancel, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openDigestTest(t)
			run := runWith(t, st, 1)
			if err := st.ExecForTest(ctx, `UPDATE digest_runs SET status = ? WHERE id = ?`, string(tc.from), run.ID); err != nil {
				t.Fatal(err)
			}
			got, err := tc.op(st, ctx, run.ID, t0)
			if tc.want == "" {
				if !errors.Is(err, digest.ErrRunState) {
					t.Fatalf("err %v, want ErrRunState", err)
				}
				r, _ := st.GetRun(ctx, run.ID)
				if r.Status != tc.from {
					t.Errorf("status %s changed to %s", tc.from, r.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.want {
				t.Errorf("status %s, want %s", got.Status, tc.want)
			}
		})
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		st := openDigestTest(t)
		for _, o := range []op{pause, resume, cancel} {
			if _, err := o(st, ctx, 99, t0); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("err %v, want ErrNotFound", err)
			}
		}
	})
}

// TestPausedRunClaimsNothing: a paused or cancelled run hands out no
// rows; a resumed one carries on where it stopped.
func TestPausedRunClaimsNothing(t *testing.T) {
	ctx := context.Background()
	st := openDigestTest(t)
	run := runWith(t, st, 10)
	lease := 30 * time.Second
	cs, err := st.ClaimDeliveries(ctx, run.ID, "monthly", 4, t0, lease)
	if err != nil || len(cs) != 4 {
		t.Fatalf("claimed %d, %v", len(cs), err)
	}
	outs := make([]digest.Outcome, len(cs))
	for i, c := range cs {
		outs[i] = digest.Outcome{SubscriberID: c.SubscriberID, Status: digest.DeliverySent, At: t0, Lease: c.LeaseUntil}
	}
	if err := st.RecordOutcomes(ctx, run.ID, outs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PauseRun(ctx, run.ID, t0); err != nil {
		t.Fatal(err)
	}
	if cs, err := st.ClaimDeliveries(ctx, run.ID, "monthly", 64, t0, lease); err != nil || len(cs) != 0 {
		t.Fatalf("paused run: claimed %d, %v", len(cs), err)
	}
	if done, err := st.FinishRun(ctx, run.ID, t0); err != nil || done {
		t.Fatalf("a paused run finished: %v %v", done, err)
	}
	if _, err := st.ResumeRun(ctx, run.ID, t0); err != nil {
		t.Fatal(err)
	}
	cs, err = st.ClaimDeliveries(ctx, run.ID, "monthly", 64, t0, lease)
	if err != nil || len(cs) != 6 {
		t.Fatalf("resumed: claimed %d, %v; want the 6 not sent", len(cs), err)
	}
	c, _ := st.RunCounts(ctx, run.ID)
	if c.Sent != 4 || c.Sending != 6 {
		t.Errorf("counts %+v", c)
	}
}

// TestCancelSettlesOpenRows: cancelling skips pending and leased rows
// with "run cancelled"; a message in hand that finishes afterwards
// records its real outcome, a given-back one stays skipped.
func TestCancelSettlesOpenRows(t *testing.T) {
	ctx := context.Background()
	st := openDigestTest(t)
	run := runWith(t, st, 10)
	cs, err := st.ClaimDeliveries(ctx, run.ID, "monthly", 3, t0, 30*time.Second)
	if err != nil || len(cs) != 3 {
		t.Fatalf("claimed %d, %v", len(cs), err)
	}
	if err := st.RecordOutcomes(ctx, run.ID, []digest.Outcome{{SubscriberID: cs[0].SubscriberID, Status: digest.DeliverySent, At: t0, Lease: cs[0].LeaseUntil}}); err != nil {
		t.Fatal(err)
	}
	got, err := st.CancelRun(ctx, run.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != digest.RunCancelled || got.FinishedAt.IsZero() {
		t.Errorf("run %+v", got)
	}
	c, _ := st.RunCounts(ctx, run.ID)
	if want := (digest.Counts{Planned: 10, Sent: 1, Skipped: 9}); c != want {
		t.Errorf("counts %+v, want %+v", c, want)
	}
	// In flight at cancel time: one is sent, one is given back.
	err = st.RecordOutcomes(ctx, run.ID, []digest.Outcome{
		{SubscriberID: cs[1].SubscriberID, Status: digest.DeliverySent, At: t0, Lease: cs[1].LeaseUntil},
		{SubscriberID: cs[2].SubscriberID, Status: digest.DeliveryPending, Release: true, At: t0, Lease: cs[2].LeaseUntil},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, _ = st.RunCounts(ctx, run.ID)
	if want := (digest.Counts{Planned: 10, Sent: 2, Skipped: 8}); c != want {
		t.Errorf("after in-flight outcomes: counts %+v, want %+v", c, want)
	}
	var reply string
	st.Deliveries(ctx, run.ID, func(d digest.DeliveryRow) error {
		if d.SubscriberID == cs[2].SubscriberID {
			reply = d.Reply
		}
		return nil
	})
	if reply != "run cancelled" {
		t.Errorf("reply %q", reply)
	}
	if cs, _ := st.ClaimDeliveries(ctx, run.ID, "monthly", 64, t0.Add(time.Hour), time.Second); len(cs) != 0 {
		t.Errorf("cancelled run: claimed %d", len(cs))
	}
}

// TestListDeliveries pages by subscriber id and filters by status.
func TestListDeliveries(t *testing.T) {
	ctx := context.Background()
	st := openDigestTest(t)
	run := runWith(t, st, 5)
	cs, _ := st.ClaimDeliveries(ctx, run.ID, "monthly", 2, t0, time.Minute)
	var outs []digest.Outcome
	for _, c := range cs {
		outs = append(outs, digest.Outcome{SubscriberID: c.SubscriberID, Status: digest.DeliverySent, At: t0, MessageID: "m"})
	}
	st.RecordOutcomes(ctx, run.ID, outs)
	for _, tc := range []struct {
		name   string
		status digest.DeliveryStatus
		after  int64
		limit  int
		want   []int64
	}{
		{"All", "", 0, 10, []int64{1, 2, 3, 4, 5}},
		{"Page", "", 2, 2, []int64{3, 4}},
		{"Sent", digest.DeliverySent, 0, 10, []int64{1, 2}},
		{"PendingAfter", digest.DeliveryPending, 3, 10, []int64{4, 5}},
		{"None", digest.DeliveryFailed, 0, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := st.ListDeliveries(ctx, run.ID, digest.DeliveryFilter{Status: tc.status}, tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, r := range rows {
				ids = append(ids, r.SubscriberID)
				if r.Email == "" {
					t.Errorf("row %d has no email", r.SubscriberID)
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
				t.Errorf("ids %v, want %v", ids, tc.want)
			}
		})
	}
}
