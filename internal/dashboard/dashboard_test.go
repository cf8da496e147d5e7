package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/dashboard"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC) // a Wednesday

type fixture struct {
	st  *sqlite.Store
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &fixture{st: st, now: t0}
}

func (f *fixture) service(t *testing.T, edit func(*dashboard.Config)) *dashboard.Service {
	t.Helper()
	cfg := dashboard.Config{Store: f.st, BaseURL: "https://news.example.org", DKIM: true, Now: func() time.Time { return f.now },
		Newsletters: []digest.Newsletter{{ID: "monthly", Title: "Monthly", Schedule: "0 9 1 * *", Location: time.UTC}}}
	if edit != nil {
		edit(&cfg)
	}
	s, err := dashboard.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) active(t *testing.T, email string, at time.Time, nls ...string) *subscribe.Subscriber {
	t.Helper()
	if nls == nil {
		nls = []string{"monthly"}
	}
	sub, _, err := f.st.UpsertActive(context.Background(), email, subscribe.Choice{Newsletters: nls}, at)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// run plans a manual run of monthly at slot, failing when fail is set.
func (f *fixture) run(t *testing.T, slot time.Time, fail bool) *digest.Run {
	t.Helper()
	ctx := context.Background()
	art := &article.Article{Slug: fmt.Sprintf("a%d", slot.Unix()), Title: "News", Published: slot.Add(-time.Hour), Source: article.SourceAPI, ContentHash: slot.String()}
	if _, err := f.st.UpsertArticle(ctx, art, slot); err != nil {
		t.Fatal(err)
	}
	req := digest.PlanRequest{Selection: digest.Selection{Newsletter: "monthly", SlotAt: slot, FirstWindow: 30 * 24 * time.Hour, MaxArticles: 10},
		Slot: "manual-" + slot.Format(time.RFC3339), Kind: digest.KindManual, Now: slot}
	run, err := f.st.PlanRun(ctx, req, func(r *digest.Run, _ []article.Article) ([]digest.Variant, error) {
		if fail {
			return nil, errors.New("template broke")
		}
		return []digest.Variant{{Key: digest.VariantAll, Subject: "s", HTML: "<p>x</p>", Text: "x"}}, nil
	})
	if err != nil && !fail {
		t.Fatal(err)
	}
	if err := f.st.StartRun(ctx, run.ID, slot); err != nil && !fail {
		t.Fatal(err)
	}
	return run
}

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*dashboard.Config)
		setup func(t *testing.T, f *fixture)
		want  []string
	}{
		{"OK", nil, nil, nil},
		{"HTTPBaseURL", func(c *dashboard.Config) { c.BaseURL = "http://localhost:8080" }, nil, []string{dashboard.WarnHTTPBaseURL}},
		{"NoDKIM", func(c *dashboard.Config) { c.DKIM = false }, nil, []string{dashboard.WarnNoDKIM}},
		{"NoNewslettersNoMailWarnings", func(c *dashboard.Config) { c.BaseURL, c.DKIM, c.Newsletters = "http://x", false, nil }, nil, nil},
		{"RunFailed", nil, func(t *testing.T, f *fixture) { f.run(t, t0.Add(-time.Hour), true) }, []string{dashboard.WarnRunFailed}},
		{"StuckDeliveries", nil, func(t *testing.T, f *fixture) {
			f.active(t, "a@example.org", t0.Add(-48*time.Hour))
			run := f.run(t, t0.Add(-time.Hour), false)
			if _, err := f.st.ClaimDeliveries(context.Background(), run.ID, "monthly", 10, t0.Add(-time.Hour), 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}, []string{dashboard.WarnStuckDeliveries}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(t, f)
			}
			d, err := f.service(t, tc.edit).Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range d.Warnings {
				got = append(got, w.Code)
				if w.Message == "" {
					t.Errorf("%s: no message", w.Code)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("warnings %v, want %v (%+v)", got, tc.want, d.Warnings)
			}
		})
	}
}

func TestLoadRuns(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	subs := []*subscribe.Subscriber{
		f.active(t, "a@example.org", t0.Add(-40*24*time.Hour)),
		f.active(t, "b@example.org", t0.Add(-40*24*time.Hour), "monthly", "weekly"),
		f.active(t, "c@example.org", t0.Add(-40*24*time.Hour)),
	}
	r1 := f.run(t, t0.Add(-30*24*time.Hour), false)
	// One leaves monthly after r1; one leaves weekly only (not counted).
	if _, err := f.st.Unsubscribe(ctx, subs[0].ID, "monthly", t0.Add(-29*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Unsubscribe(ctx, subs[1].ID, "weekly", t0.Add(-29*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r2 := f.run(t, t0.Add(-2*24*time.Hour), false)
	cs, err := f.st.ClaimDeliveries(ctx, r2.ID, "monthly", 10, t0.Add(-2*24*time.Hour), time.Minute)
	if err != nil || len(cs) != 2 {
		t.Fatalf("claim: %d %v", len(cs), err)
	}
	at := t0.Add(-2 * 24 * time.Hour)
	if err := f.st.RecordOutcomes(ctx, r2.ID, []digest.Outcome{
		{SubscriberID: cs[0].SubscriberID, Status: digest.DeliverySent, At: at, Lease: cs[0].LeaseUntil},
		{SubscriberID: cs[1].SubscriberID, Status: digest.DeliveryFailed, Reply: "550 no", At: at, Lease: cs[1].LeaseUntil},
	}); err != nil {
		t.Fatal(err)
	}
	// Two leave after r2: one from monthly, one from everything.
	if _, err := f.st.Unsubscribe(ctx, subs[1].ID, "", t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Unsubscribe(ctx, subs[2].ID, "monthly", t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	d, err := f.service(t, nil).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Newsletters) != 1 {
		t.Fatalf("newsletters: %+v", d.Newsletters)
	}
	n := d.Newsletters[0]
	if want := time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC); !n.Next.Equal(want) {
		t.Errorf("next run %v, want %v", n.Next, want)
	}
	if len(n.Runs) != 2 || n.Runs[0].Run.ID != r2.ID || n.Runs[1].Run.ID != r1.ID {
		t.Fatalf("runs: %+v", n.Runs)
	}
	if got := n.Runs[0]; got.Counts.Sent != 1 || got.Counts.Failed != 1 || got.Unsubscribes != 2 || !got.Until.Equal(t0) {
		t.Errorf("latest run: %+v", got)
	}
	if got := n.Runs[1]; got.Counts.Planned != 3 || got.Unsubscribes != 1 || !got.Until.Equal(n.Runs[0].From) {
		t.Errorf("first run: %+v", got)
	}
	if d.Counts.Active != 0 || d.Counts.Unsubscribed != 3 {
		t.Errorf("counts: %+v", d.Counts)
	}
}

// TestGrowthBackfill: the first snapshot back-fills the daily counts from
// the subscribers' timestamps, and the weekly points read them.
func TestGrowthBackfill(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	week := 7 * 24 * time.Hour
	// Ten weeks ago three joined; five weeks ago one more, and one of the
	// first left; half a week ago one asked and is still pending.
	var first []*subscribe.Subscriber
	for i := range 3 {
		first = append(first, f.active(t, fmt.Sprintf("early%d@example.org", i), t0.Add(-10*week)))
	}
	f.active(t, "later@example.org", t0.Add(-5*week))
	if _, err := f.st.Unsubscribe(ctx, first[0].ID, "", t0.Add(-5*week)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.RequestSubscription(ctx, "pending@example.org", subscribe.Choice{Newsletters: []string{"monthly"}}, t0.Add(-week/2), time.Hour); err != nil {
		t.Fatal(err)
	}
	s := f.service(t, nil)
	if err := s.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	pts, err := s.WeeklyGrowth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != dashboard.Weeks || !pts[len(pts)-1].End.Equal(t0) {
		t.Fatalf("%d points, last %v", len(pts), pts[len(pts)-1].End)
	}
	at := func(weeksAgo int) dashboard.WeekPoint { return pts[len(pts)-1-weeksAgo] }
	for _, tc := range []struct {
		weeksAgo int
		want     dashboard.StatusCounts
		growth   int
	}{
		{11, dashboard.StatusCounts{}, 0},
		{10, dashboard.StatusCounts{Active: 3}, 3},
		{6, dashboard.StatusCounts{Active: 3}, 0},
		{5, dashboard.StatusCounts{Active: 3, Unsubscribed: 1}, 0},
		{1, dashboard.StatusCounts{Active: 3, Unsubscribed: 1}, 0},
		{0, dashboard.StatusCounts{Active: 3, Unsubscribed: 1, Pending: 1}, 0},
	} {
		if got := at(tc.weeksAgo); got.Counts != tc.want || got.Growth != tc.growth {
			t.Errorf("%d weeks ago: %+v growth %d, want %+v growth %d", tc.weeksAgo, got.Counts, got.Growth, tc.want, tc.growth)
		}
	}
	// A second snapshot the same day with nothing changed writes nothing;
	// a change rewrites today's.
	before, err := f.st.SubscriberCountHistory(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	f.active(t, "today@example.org", t0)
	f.now = t0.Add(time.Hour)
	if err := s.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := f.st.SubscriberCountHistory(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || !strings.Contains(fmt.Sprint(after[len(after)-4:]), "active 4") {
		t.Fatalf("today's row not rewritten: %v", after[len(after)-4:])
	}
}
