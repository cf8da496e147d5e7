package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/dashboard"
	"github.com/herald-news/herald/internal/subscribe"
)

// DashboardStore is what the dashboard suite exercises: subscriber
// search (folded, with the topic filter and totals), daily counts,
// unsubscribes per newsletter, stuck deliveries and the delivery filter.
type DashboardStore interface {
	DigestStore
	dashboard.Store
	UpsertActive(ctx context.Context, email string, c subscribe.Choice, now time.Time) (*subscribe.Subscriber, bool, error)
	Unsubscribe(ctx context.Context, id int64, newsletter string, now time.Time) (*subscribe.Subscriber, error)
	UpdatePreferences(ctx context.Context, id int64, name string, newsletters, tags []string, now time.Time) (*subscribe.Subscriber, error)
	SearchSubscribers(ctx context.Context, f subscribe.Filter, afterID int64, limit int) ([]*subscribe.Subscriber, error)
	CountSubscribers(ctx context.Context, f subscribe.Filter) (int, error)
	SubscribersExist(ctx context.Context, emails []string) ([]bool, error)
	ListSubscribers(ctx context.Context, f subscribe.Filter) ([]*subscribe.Subscriber, error)
}

// RunDashboard runs the dashboard suite; open returns a fresh fixture
// per call whose A handle is a DashboardStore.
func RunDashboard(t *testing.T, open func(t *testing.T) DigestFixture) {
	ctx := context.Background()
	store := func(t *testing.T, f DigestFixture) DashboardStore {
		t.Helper()
		s, isD := f.A.(DashboardStore)
		if !isD {
			t.Fatalf("%T is no DashboardStore", f.A)
		}
		return s
	}
	now := d0

	t.Run("SearchFolded", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		add := func(email, name string, tags ...string) *subscribe.Subscriber {
			sub, _, err := s.UpsertActive(ctx, email, subscribe.Choice{Name: name, Newsletters: []string{"monthly"}, Tags: tags}, now)
			ok(t, err)
			return sub
		}
		asa := add("asa@example.org", "Åsa Öberg", "wp4")
		add("jurgen@example.org", "JÜRGEN", "wp4")
		add("oy@example.org", "Øyvind")
		// Quotes and wildcards in a query are literal (SQLite: the
		// trigram index's phrase syntax; PostgreSQL: LIKE).
		add("q@example.org", `Ann "Q" 50%`)
		// Rows written behind the store's back (no fold yet) are found too.
		f.AddSubscriber(t, "Raw.Row@Example.org", "active", []string{"weekly"})
		for _, tc := range []struct {
			q    string
			f    subscribe.Filter
			want []string
		}{
			{"åsa", subscribe.Filter{}, []string{"asa@example.org"}},
			{"ÖBERG", subscribe.Filter{}, []string{"asa@example.org"}},
			{"jürgen", subscribe.Filter{}, []string{"jurgen@example.org"}},
			{"øYV", subscribe.Filter{}, []string{"oy@example.org"}},
			{"raw.row", subscribe.Filter{}, []string{"Raw.Row@Example.org"}},
			{"", subscribe.Filter{Tag: "wp4"}, []string{"asa@example.org", "jurgen@example.org"}},
			{"ü", subscribe.Filter{Tag: "wp4", Status: subscribe.StatusActive, Newsletter: "monthly"}, []string{"jurgen@example.org"}},
			{"example", subscribe.Filter{Newsletter: "weekly"}, []string{"Raw.Row@Example.org"}},
			{`"q" 50%`, subscribe.Filter{}, []string{"q@example.org"}},
			{`n "q`, subscribe.Filter{}, []string{"q@example.org"}},
			{`0%`, subscribe.Filter{}, []string{"q@example.org"}},
			{`q""`, subscribe.Filter{}, nil},
			// Topic and newsletter alone are counted without the rows.
			{"", subscribe.Filter{Newsletter: "weekly"}, []string{"Raw.Row@Example.org"}},
			{"", subscribe.Filter{Tag: "wp4", Newsletter: "monthly"}, []string{"asa@example.org", "jurgen@example.org"}},
			{"", subscribe.Filter{Tag: "nobody"}, nil},
		} {
			fl := tc.f
			fl.Query = subscribe.Fold(tc.q)
			if got := emails(must(s.SearchSubscribers(ctx, fl, 0, 0)).get(t)); !eq(got, tc.want) {
				t.Errorf("search %q %+v: %v, want %v", tc.q, tc.f, got, tc.want)
			}
			if n := must(s.CountSubscribers(ctx, fl)).get(t); n != len(tc.want) {
				t.Errorf("count %q %+v: %d, want %d", tc.q, tc.f, n, len(tc.want))
			}
			if got := emails(must(s.ListSubscribers(ctx, fl)).get(t)); !eq(got, tc.want) {
				t.Errorf("list %q %+v: %v, want %v", tc.q, tc.f, got, tc.want)
			}
		}
		// A new name is what a search finds next.
		_, err := s.UpdatePreferences(ctx, asa.ID, "Ärla", []string{"monthly"}, []string{"wp4"}, now)
		ok(t, err)
		if got := emails(must(s.SearchSubscribers(ctx, subscribe.Filter{Query: subscribe.Fold("ÄRLA")}, 0, 0)).get(t)); !eq(got, []string{"asa@example.org"}) {
			t.Errorf("renamed: %v", got)
		}
		if got := emails(must(s.SearchSubscribers(ctx, subscribe.Filter{Query: subscribe.Fold("öberg")}, 0, 0)).get(t)); len(got) != 0 {
			t.Errorf("old name still found: %v", got)
		}
		got := must(s.SubscribersExist(ctx, []string{"ASA@example.org", "nobody@example.org", "raw.row@example.org"})).get(t)
		if fmt.Sprint(got) != "[true false true]" {
			t.Errorf("exist: %v", got)
		}
	})

	t.Run("Unsubscribes", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		sub, _, err := s.UpsertActive(ctx, "u@example.org", subscribe.Choice{Newsletters: []string{"monthly", "weekly", "daily"}}, now)
		ok(t, err)
		count := func(nl string, from, to time.Time) int {
			return must(s.UnsubscribeCount(ctx, nl, from, to)).get(t)
		}
		_, err = s.UpdatePreferences(ctx, sub.ID, "", []string{"monthly", "weekly"}, nil, now.Add(time.Minute))
		ok(t, err)
		_, err = s.Unsubscribe(ctx, sub.ID, "monthly", now.Add(time.Hour))
		ok(t, err)
		_, err = s.Unsubscribe(ctx, sub.ID, "monthly", now.Add(2*time.Hour)) // nothing left to leave
		ok(t, err)
		_, err = s.Unsubscribe(ctx, sub.ID, "", now.Add(3*time.Hour))
		ok(t, err)
		for _, tc := range []struct {
			nl       string
			from, to time.Duration
			want     int
		}{
			{"daily", 0, time.Hour, 1},
			{"monthly", 0, 4 * time.Hour, 1},
			{"monthly", 0, time.Hour, 0}, // the end is not included
			{"weekly", 0, 3 * time.Hour, 0},
			{"weekly", 3 * time.Hour, 4 * time.Hour, 1},
		} {
			if got := count(tc.nl, now.Add(tc.from), now.Add(tc.to)); got != tc.want {
				t.Errorf("%s [%v, %v): %d, want %d", tc.nl, tc.from, tc.to, got, tc.want)
			}
		}
	})

	t.Run("DailyCounts", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		if h := must(s.SubscriberCountHistory(ctx, now)).get(t); len(h) != 0 {
			t.Fatalf("empty store has history: %v", h)
		}
		day := func(i int) time.Time { return time.Date(2026, 11, i, 0, 0, 0, 0, time.UTC) }
		row := func(d time.Time, st subscribe.Status, n int) subscribe.DayCount {
			return subscribe.DayCount{Day: d, Status: st, Count: n}
		}
		ok(t, s.PutSubscriberCounts(ctx, []subscribe.DayCount{row(day(1), subscribe.StatusActive, 5), row(day(1), subscribe.StatusPending, 1),
			row(day(3), subscribe.StatusActive, 6), row(day(3), subscribe.StatusPending, 0)}))
		ok(t, s.PutSubscriberCounts(ctx, []subscribe.DayCount{row(day(3), subscribe.StatusActive, 7)}))
		got := must(s.SubscriberCountHistory(ctx, day(2))).get(t)
		want := []subscribe.DayCount{row(day(1), subscribe.StatusActive, 5), row(day(1), subscribe.StatusPending, 1),
			row(day(3), subscribe.StatusActive, 7), row(day(3), subscribe.StatusPending, 0)}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("history from day 2:\n%v\nwant\n%v", got, want)
		}
		if got := must(s.SubscriberCountHistory(ctx, day(20))).get(t); fmt.Sprint(got) != fmt.Sprint(want[2:]) {
			t.Fatalf("history from day 20: %v", got)
		}
		_, _, err := s.UpsertActive(ctx, "t@example.org", subscribe.Choice{Newsletters: []string{"monthly"}}, now)
		ok(t, err)
		tls := must(s.SubscriberTimelines(ctx)).get(t)
		if len(tls) != 1 || tls[0].Status != subscribe.StatusActive || !tls[0].CreatedAt.Equal(now) || !tls[0].ConfirmedAt.Equal(now) || !tls[0].UnsubscribedAt.IsZero() {
			t.Fatalf("timelines: %+v", tls)
		}
	})

	t.Run("Deliveries", func(t *testing.T) {
		f := open(t)
		s := store(t, f)
		run := runWith(t, f, 3) // r0000@ … r0002@example.org
		cs := must(s.ClaimDeliveries(ctx, run.ID, "monthly", 2, d0, time.Minute)).get(t)
		if len(cs) != 2 {
			t.Fatalf("claimed %d", len(cs))
		}
		if n := must(s.StuckDeliveries(ctx, d0.Add(time.Minute))).get(t); n != 0 {
			t.Errorf("stuck while leased: %d", n)
		}
		if n := must(s.StuckDeliveries(ctx, d0.Add(2*time.Minute))).get(t); n != 2 {
			t.Errorf("stuck after the lease: %d, want 2", n)
		}
		c := must(s.RunCounts(ctx, run.ID)).get(t)
		if c.Sending != 2 || c.Pending != 1 || c.Planned != 3 {
			t.Errorf("counts: %+v", c)
		}
		for _, tc := range []struct {
			f    digest.DeliveryFilter
			want int
		}{
			{digest.DeliveryFilter{Query: "r0001"}, 1},
			{digest.DeliveryFilter{Query: "example.org"}, 3},
			{digest.DeliveryFilter{Query: "example.org", Status: digest.DeliveryPending}, 1},
			{digest.DeliveryFilter{Query: "nobody"}, 0},
		} {
			if got := must(s.ListDeliveries(ctx, run.ID, tc.f, 0, 10)).get(t); len(got) != tc.want {
				t.Errorf("%+v: %d rows, want %d", tc.f, len(got), tc.want)
			}
		}
	})
}
