package storetest

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
)

// SubscriberStore is the part of a store the subscriber suite exercises:
// subscribers, subscriptions and tags, the confirmation queue and its
// guards, erasure and import, and the tokens' data (key, link secrets).
type SubscriberStore interface {
	TokenKey(ctx context.Context) ([]byte, error)
	SetServingKeyPrints(ctx context.Context, prints []string) error
	ServingKeyPrints(ctx context.Context) ([]string, bool, error)
	GetSubscriber(ctx context.Context, id int64) (*subscribe.Subscriber, error)
	SubscriberByEmail(ctx context.Context, email string) (*subscribe.Subscriber, error)
	RequestSubscription(ctx context.Context, email string, c subscribe.Choice, now time.Time, resend time.Duration) (*subscribe.Subscriber, bool, error)
	MarkConfirmSent(ctx context.Context, id int64, now time.Time) error
	ConfirmSubscriber(ctx context.Context, id int64, now time.Time) (*subscribe.Subscriber, bool, error)
	Unsubscribe(ctx context.Context, id int64, newsletter string, now time.Time) (*subscribe.Subscriber, error)
	UpdatePreferences(ctx context.Context, id int64, name string, newsletters, tags []string, now time.Time) (*subscribe.Subscriber, error)
	UpsertActive(ctx context.Context, email string, c subscribe.Choice, now time.Time) (*subscribe.Subscriber, bool, error)
	DeleteUnconfirmed(ctx context.Context, cutoff time.Time) (int64, error)
	ListSubscribers(ctx context.Context, f subscribe.Filter) ([]*subscribe.Subscriber, error)
	SearchSubscribers(ctx context.Context, f subscribe.Filter, afterID int64, limit int) ([]*subscribe.Subscriber, error)
	CountSubscribers(ctx context.Context, f subscribe.Filter) (int, error)
	SubscribersExist(ctx context.Context, emails []string) ([]bool, error)
	SubscriberStatusCounts(ctx context.Context) (map[string]int, error)
	EraseSubscriber(ctx context.Context, email string, now time.Time) error
	Erasures(ctx context.Context) (int, error)
	ImportSubscribers(ctx context.Context, subs []*subscribe.Subscriber, now time.Time) ([]bool, error)
	SubscriberDeliveries(ctx context.Context, id int64) ([]subscribe.Delivery, error)
	QueueSubscription(ctx context.Context, email string, c subscribe.Choice, now time.Time) error
	TakeConfirmations(ctx context.Context, email string, lim subscribe.ConfirmLimits, now time.Time) ([]*subscribe.Subscriber, error)
	ConfirmMailFailed(ctx context.Context, id int64, now time.Time) error
	UnknownTags(ctx context.Context, tags []string) ([]string, error)
	SetLanguage(ctx context.Context, id int64, language string, now time.Time) error
}

// ErasureDigestStore is what the erasure part needs beyond
// SubscriberStore to have deliveries to erase. A backend without it skips
// that part (its digest suite is not there yet).
type ErasureDigestStore interface {
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
	PlanRun(ctx context.Context, req digest.PlanRequest, compose digest.ComposeFunc) (*digest.Run, error)
	ClaimDeliveries(ctx context.Context, runID int64, newsletter string, n int, now time.Time, lease time.Duration) ([]digest.Claim, error)
	RecordOutcomes(ctx context.Context, runID int64, outs []digest.Outcome) error
	RunCounts(ctx context.Context, runID int64) (digest.Counts, error)
}

func emails(subs []*subscribe.Subscriber) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.Email
	}
	return out
}

// RunSubscribers runs the subscriber conformance suite.
func RunSubscribers(t *testing.T, open func(t *testing.T) SubscriberStore) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := subscribe.Choice{Name: "Ola", Newsletters: []string{"monthly", "weekly"}, Tags: []string{"wp4"},
		Consent: subscribe.Consent{At: now, IP: "192.0.2.1", Source: "form", Text: "ok"}}
	lim := subscribe.ConfirmLimits{Resend: time.Hour, DomainPerHour: 30}
	monthly := subscribe.Choice{Newsletters: []string{"monthly"}, Tags: []string{}}

	t.Run("TokenData", func(t *testing.T) {
		s := open(t)
		k1 := must(s.TokenKey(ctx)).get(t)
		k2 := must(s.TokenKey(ctx)).get(t)
		if len(k1) != 32 || !bytes.Equal(k1, k2) {
			t.Fatalf("token key not kept: %x %x", k1, k2)
		}
		if _, found, err := s.ServingKeyPrints(ctx); err != nil || found {
			t.Fatalf("prints before any serve: %v %v", found, err)
		}
		ok(t, s.SetServingKeyPrints(ctx, []string{"aa", "bb"}))
		ok(t, s.SetServingKeyPrints(ctx, []string{"cc", "dd"}))
		prints, found, err := s.ServingKeyPrints(ctx)
		if err != nil || !found || !eq(prints, []string{"cc", "dd"}) {
			t.Fatalf("prints: %v %v %v", prints, found, err)
		}
		a := mustFirst(s.UpsertActive(ctx, "a@example.org", monthly, now)).get(t)
		b := mustFirst(s.UpsertActive(ctx, "b@example.org", monthly, now)).get(t)
		if len(a.LinkSecret) < 16 || bytes.Equal(a.LinkSecret, b.LinkSecret) || a.LegacyLinks || b.LegacyLinks {
			t.Fatalf("link secrets: %x %x legacy %v %v", a.LinkSecret, b.LinkSecret, a.LegacyLinks, b.LegacyLinks)
		}
		got := must(s.GetSubscriber(ctx, a.ID)).get(t)
		if !bytes.Equal(got.LinkSecret, a.LinkSecret) {
			t.Fatalf("link secret changed: %x %x", got.LinkSecret, a.LinkSecret)
		}
		// Erasing kills the links: the same address comes back with a new
		// id and a new secret.
		ok(t, s.EraseSubscriber(ctx, "a@example.org", now))
		a2 := mustFirst(s.UpsertActive(ctx, "a@example.org", monthly, now)).get(t)
		if a2.ID <= b.ID || bytes.Equal(a2.LinkSecret, a.LinkSecret) {
			t.Fatalf("after erasure: id %d (max before %d), secret %x", a2.ID, b.ID, a2.LinkSecret)
		}
	})

	t.Run("Language", func(t *testing.T) {
		s := open(t)
		sv := c
		sv.Language = "sv"
		ok(t, s.QueueSubscription(ctx, "lang@example.org", sv, now))
		subs := must(s.TakeConfirmations(ctx, "lang@example.org", lim, now)).get(t)
		if len(subs) != 1 || subs[0].Language != "sv" {
			t.Fatalf("queued with sv: %+v", subs)
		}
		// Still pending, asked again in Danish: the next mail is Danish.
		da := c
		da.Language = "da"
		ok(t, s.QueueSubscription(ctx, "lang@example.org", da, now.Add(2*time.Hour)))
		subs = must(s.TakeConfirmations(ctx, "lang@example.org", lim, now.Add(2*time.Hour))).get(t)
		if len(subs) != 1 || subs[0].Language != "da" {
			t.Fatalf("asked again in da: %+v", subs)
		}
		id := subs[0].ID
		ok(t, s.SetLanguage(ctx, id, "fi", now))
		if got := must(s.GetSubscriber(ctx, id)).get(t); got.Language != "fi" {
			t.Fatalf("SetLanguage fi: %q", got.Language)
		}
		if err := s.SetLanguage(ctx, 99999, "fi", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SetLanguage of no one: %v", err)
		}
		de := monthly
		de.Language = "de"
		a := mustFirst(s.UpsertActive(ctx, "de@example.org", de, now)).get(t)
		if a.Language != "de" {
			t.Fatalf("UpsertActive de: %q", a.Language)
		}
		if a = mustFirst(s.UpsertActive(ctx, "de@example.org", monthly, now)).get(t); a.Language != "de" {
			t.Fatalf("UpsertActive without a language changed it: %q", a.Language)
		}
		// Unsubscribed, then back through opt-in in Dutch.
		must(s.Unsubscribe(ctx, a.ID, "", now)).get(t)
		nl := monthly
		nl.Language = "nl"
		ok(t, s.QueueSubscription(ctx, "de@example.org", nl, now.Add(3*time.Hour)))
		must(s.TakeConfirmations(ctx, "de@example.org", lim, now.Add(3*time.Hour))).get(t)
		if a = mustFirst(s.ConfirmSubscriber(ctx, a.ID, now.Add(3*time.Hour))).get(t); a.Language != "nl" || a.Status != subscribe.StatusActive {
			t.Fatalf("confirmed in nl: %q %s", a.Language, a.Status)
		}
		imp := []*subscribe.Subscriber{{Email: "nb@example.org", Status: subscribe.StatusActive, Newsletters: []string{"monthly"}, Language: "nb"},
			{Email: "none@example.org", Status: subscribe.StatusActive, Newsletters: []string{"monthly"}}}
		must(s.ImportSubscribers(ctx, imp, now)).get(t)
		for email, want := range map[string]string{"nb@example.org": "nb", "none@example.org": ""} {
			if got := must(s.SubscriberByEmail(ctx, email)).get(t); got.Language != want {
				t.Errorf("imported %s: language %q, want %q", email, got.Language, want)
			}
		}
	})

	t.Run("OK", func(t *testing.T) {
		s := open(t)
		sub, send, err := s.RequestSubscription(ctx, "ola@example.org", c, now, time.Hour)
		if err != nil || !send || sub.Status != subscribe.StatusPending || !sub.ConfirmSentAt.Equal(now) ||
			sub.Name != "Ola" || !eq(sub.Newsletters, []string{"monthly", "weekly"}) || !eq(sub.Tags, []string{"wp4"}) ||
			sub.Consent != c.Consent || !sub.CreatedAt.Equal(now) {
			t.Fatalf("request: %+v %v %v", sub, send, err)
		}
		if _, send, err := s.RequestSubscription(ctx, "ola@example.org", c, now.Add(time.Minute), time.Hour); err != nil || send {
			t.Fatalf("resent within the interval: %v %v", send, err)
		}
		byMail := must(s.SubscriberByEmail(ctx, "OLA@example.org")).get(t)
		if byMail.ID != sub.ID {
			t.Fatalf("lookup ignoring case: %+v", byMail)
		}
		sub, changed, err := s.ConfirmSubscriber(ctx, sub.ID, now)
		if err != nil || !changed || sub.Status != subscribe.StatusActive || !sub.ConfirmedAt.Equal(now) {
			t.Fatalf("confirm: %+v %v %v", sub, changed, err)
		}
		if _, changed, err := s.ConfirmSubscriber(ctx, sub.ID, now); err != nil || changed {
			t.Fatalf("confirm twice: %v %v", changed, err)
		}
		// The repeated request, held back by the resend guard, leaves the
		// queue without a mail now that the address is active.
		if subs := must(s.TakeConfirmations(ctx, "", lim, now.Add(2*time.Hour))).get(t); len(subs) != 0 {
			t.Fatalf("an active address got a confirmation: %v", emails(subs))
		}
		sub, err = s.Unsubscribe(ctx, sub.ID, "weekly", now)
		if err != nil || sub.Status != subscribe.StatusActive || !eq(sub.Newsletters, []string{"monthly"}) {
			t.Fatalf("unsubscribe weekly: %+v %v", sub, err)
		}
		sub, err = s.Unsubscribe(ctx, sub.ID, "monthly", now.Add(time.Second))
		if err != nil || sub.Status != subscribe.StatusUnsubscribed || !sub.UnsubscribedAt.Equal(now.Add(time.Second)) {
			t.Fatalf("unsubscribe monthly: %+v %v", sub, err)
		}
		list := must(s.ListSubscribers(ctx, subscribe.Filter{Status: subscribe.StatusUnsubscribed})).get(t)
		if len(list) != 1 || list[0].Email != "ola@example.org" || !eq(list[0].Tags, []string{"wp4"}) {
			t.Fatalf("list: %+v", list)
		}
		// Re-subscribing needs opt-in: the choice waits aside.
		sub, send, err = s.RequestSubscription(ctx, "ola@example.org", monthly, now.Add(2*time.Hour), time.Hour)
		if err != nil || !send || sub.Status != subscribe.StatusUnsubscribed || sub.Pending == nil || !eq(sub.Pending.Newsletters, []string{"monthly"}) {
			t.Fatalf("re-request: %+v %v %v", sub, send, err)
		}
		sub, changed, err = s.ConfirmSubscriber(ctx, sub.ID, now.Add(3*time.Hour))
		if err != nil || !changed || sub.Status != subscribe.StatusActive || sub.Pending != nil ||
			!eq(sub.Newsletters, []string{"monthly"}) || !sub.UnsubscribedAt.IsZero() || sub.Name != "Ola" {
			t.Fatalf("re-confirm: %+v %v %v", sub, changed, err)
		}
		sub = must(s.UpdatePreferences(ctx, sub.ID, "Ola N", []string{"weekly", "monthly"}, []string{"a", "b"}, now)).get(t)
		if sub.Name != "Ola N" || !eq(sub.Newsletters, []string{"monthly", "weekly"}) || !eq(sub.Tags, []string{"a", "b"}) || sub.Status != subscribe.StatusActive {
			t.Fatalf("preferences: %+v", sub)
		}
		sub = must(s.UpdatePreferences(ctx, sub.ID, "Ola N", nil, []string{"a"}, now)).get(t)
		if sub.Status != subscribe.StatusUnsubscribed || len(sub.Newsletters) != 0 {
			t.Fatalf("preferences with no newsletter: %+v", sub)
		}
		sub = must(s.Unsubscribe(ctx, sub.ID, "", now)).get(t)
		if sub.Status != subscribe.StatusUnsubscribed || sub.Newsletters == nil || sub.Tags == nil {
			t.Fatalf("unsubscribe all: %+v", sub)
		}
	})

	t.Run("Bounced", func(t *testing.T) {
		s := open(t)
		subs := []*subscribe.Subscriber{{Email: "bo@example.org", Status: subscribe.StatusBounced, Newsletters: []string{"monthly", "weekly"}}}
		_, err := s.ImportSubscribers(ctx, subs, now)
		ok(t, err)
		sub := must(s.Unsubscribe(ctx, subs[0].ID, "weekly", now)).get(t)
		if sub.Status != subscribe.StatusBounced || !eq(sub.Newsletters, []string{"monthly"}) || !sub.UnsubscribedAt.IsZero() {
			t.Fatalf("unsubscribe weekly: %+v", sub)
		}
		sub = must(s.Unsubscribe(ctx, sub.ID, "", now)).get(t)
		if sub.Status != subscribe.StatusBounced || len(sub.Newsletters) != 0 || !sub.UnsubscribedAt.Equal(now) {
			t.Fatalf("unsubscribe all: %+v", sub)
		}
		sub, send, err := s.RequestSubscription(ctx, "bo@example.org", monthly, now, time.Hour)
		if err != nil || !send || sub.Status != subscribe.StatusBounced || sub.Pending == nil {
			t.Fatalf("request: %+v %v %v", sub, send, err)
		}
		sub, changed, err := s.ConfirmSubscriber(ctx, sub.ID, now)
		if err != nil || !changed || sub.Status != subscribe.StatusActive || sub.HardFailures != 0 || !eq(sub.Newsletters, []string{"monthly"}) {
			t.Fatalf("confirm: %+v %v %v", sub, changed, err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		s := open(t)
		for name, err := range map[string]error{
			"get":     errOf(s.GetSubscriber(ctx, 9999)),
			"byEmail": errOf(s.SubscriberByEmail(ctx, "nobody@example.org")),
			"erase":   s.EraseSubscriber(ctx, "nobody@example.org", now),
			"unsub":   errOf(s.Unsubscribe(ctx, 9999, "", now)),
			"prefs":   errOf(s.UpdatePreferences(ctx, 9999, "", []string{"monthly"}, nil, now)),
			"confirm": errOf3(s.ConfirmSubscriber(ctx, 9999, now)),
		} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: got %v", name, err)
			}
			// Worded by subscribe.NotFound, by address when asked by one.
			want := subscribe.NotFound("")
			if name == "erase" {
				want = subscribe.NotFound("nobody@example.org")
			}
			sameErr(t, name, err, want)
		}
		ok(t, s.ConfirmMailFailed(ctx, 9999, now))
	})

	t.Run("UpsertActive", func(t *testing.T) {
		s := open(t)
		sub, created, err := s.UpsertActive(ctx, "x@example.org", c, now)
		if err != nil || !created || sub.Status != subscribe.StatusActive || !sub.ConfirmedAt.Equal(now) || !eq(sub.Newsletters, []string{"monthly", "weekly"}) {
			t.Fatalf("add: %+v %v %v", sub, created, err)
		}
		_, err = s.Unsubscribe(ctx, sub.ID, "", now)
		ok(t, err)
		sub, created, err = s.UpsertActive(ctx, "X@example.org", subscribe.Choice{Newsletters: []string{"daily"}, Tags: []string{"z"}}, now.Add(time.Hour))
		if err != nil || created || sub.Status != subscribe.StatusActive || sub.Name != "Ola" || !sub.ConfirmedAt.Equal(now) ||
			!eq(sub.Newsletters, []string{"daily"}) || !eq(sub.Tags, []string{"wp4", "z"}) || !sub.UnsubscribedAt.IsZero() {
			t.Fatalf("again: %+v %v %v", sub, created, err)
		}
		ok(t, s.MarkConfirmSent(ctx, sub.ID, now))
		if got := must(s.GetSubscriber(ctx, sub.ID)).get(t); !got.ConfirmSentAt.Equal(now) {
			t.Fatalf("mark sent: %v", got.ConfirmSentAt)
		}
	})

	t.Run("ListSearchCounts", func(t *testing.T) {
		s := open(t)
		names := []string{"Anna A", "Dolores", "Cy", "Dora"}
		for i, e := range []string{"anna@example.org", "bo@example.org", "cy_x@example.org", "dora@example.org"} {
			_, _, err := s.UpsertActive(ctx, e, subscribe.Choice{Name: names[i], Newsletters: []string{[]string{"monthly", "weekly"}[i%2]}}, now)
			ok(t, err)
		}
		_, _, err := s.RequestSubscription(ctx, "pend@example.org", monthly, now, time.Hour)
		ok(t, err)
		bo := must(s.SubscriberByEmail(ctx, "bo@example.org")).get(t)
		_, err = s.Unsubscribe(ctx, bo.ID, "", now)
		ok(t, err)
		counts := must(s.SubscriberStatusCounts(ctx)).get(t)
		if counts["active"] != 3 || counts["pending"] != 1 || counts["unsubscribed"] != 1 || counts["bounced"] != 0 || len(counts) != 4 {
			t.Fatalf("counts: %v", counts)
		}
		if got := emails(must(s.ListSubscribers(ctx, subscribe.Filter{})).get(t)); !eq(got, []string{"anna@example.org", "bo@example.org", "cy_x@example.org", "dora@example.org", "pend@example.org"}) {
			t.Fatalf("all: %v", got)
		}
		got := must(s.ListSubscribers(ctx, subscribe.Filter{Status: subscribe.StatusActive, Newsletter: "monthly"})).get(t)
		if !eq(emails(got), []string{"anna@example.org", "cy_x@example.org"}) || !eq(got[1].Newsletters, []string{"monthly"}) {
			t.Fatalf("active monthly: %v", emails(got))
		}
		if got := must(s.ListSubscribers(ctx, subscribe.Filter{Newsletter: "none"})).get(t); got == nil || len(got) != 0 {
			t.Fatalf("none: %v", got)
		}
		// Paging by id; the query is a substring of email or name, any
		// case, with LIKE's wildcards taken literally.
		page1 := must(s.SearchSubscribers(ctx, subscribe.Filter{}, 0, 2)).get(t)
		page2 := must(s.SearchSubscribers(ctx, subscribe.Filter{}, page1[1].ID, 2)).get(t)
		page3 := must(s.SearchSubscribers(ctx, subscribe.Filter{}, page2[1].ID, 2)).get(t)
		if !eq(emails(page1), []string{"anna@example.org", "bo@example.org"}) || !eq(emails(page2), []string{"cy_x@example.org", "dora@example.org"}) ||
			!eq(emails(page3), []string{"pend@example.org"}) || !eq(page1[0].Newsletters, []string{"monthly"}) {
			t.Fatalf("pages: %v %v %v", emails(page1), emails(page2), emails(page3))
		}
		for _, tc := range []struct {
			q    string
			f    subscribe.Filter
			want []string
		}{
			{"_", subscribe.Filter{}, []string{"cy_x@example.org"}},
			{"DO", subscribe.Filter{}, []string{"bo@example.org", "dora@example.org"}},
			{"an", subscribe.Filter{}, []string{"anna@example.org"}},
			{"%", subscribe.Filter{}, []string{}},
			{"example", subscribe.Filter{Status: subscribe.StatusPending}, []string{"pend@example.org"}},
			{"", subscribe.Filter{Newsletter: "weekly"}, []string{"dora@example.org"}},
		} {
			f := tc.f
			f.Query = subscribe.Fold(tc.q)
			if got := emails(must(s.SearchSubscribers(ctx, f, 0, 0)).get(t)); !eq(got, tc.want) {
				t.Errorf("search %q %+v: %v, want %v", tc.q, tc.f, got, tc.want)
			}
			if n := must(s.CountSubscribers(ctx, f)).get(t); n != len(tc.want) {
				t.Errorf("count %q %+v: %d, want %d", tc.q, tc.f, n, len(tc.want))
			}
		}
	})

	t.Run("Import", func(t *testing.T) {
		s := open(t)
		_, _, err := s.RequestSubscription(ctx, "ola@example.org", c, now, time.Hour)
		ok(t, err)
		ola := must(s.SubscriberByEmail(ctx, "ola@example.org")).get(t)
		// An erased id is never handed out again.
		_, _, err = s.UpsertActive(ctx, "gone@example.org", monthly, now)
		ok(t, err)
		gone := must(s.SubscriberByEmail(ctx, "gone@example.org")).get(t)
		ok(t, s.EraseSubscriber(ctx, "gone@example.org", now))
		mk := func() []*subscribe.Subscriber {
			return []*subscribe.Subscriber{
				{Email: "a@example.org", Name: "A", Status: subscribe.StatusActive, Newsletters: []string{"monthly"}, Tags: []string{"t1"}},
				{Email: "OLA@example.org", Status: subscribe.StatusActive, Newsletters: []string{"monthly"}},
				{Email: "u@example.org", Status: subscribe.StatusUnsubscribed, Newsletters: []string{"monthly"}},
				{Email: "a@example.org", Status: subscribe.StatusPending, Newsletters: []string{"weekly"}},
				{Email: "p@example.org", Status: subscribe.StatusPending, Newsletters: []string{"weekly"}},
			}
		}
		subs := mk()
		created := must(s.ImportSubscribers(ctx, subs, now)).get(t)
		if !eq(boolStrs(created), boolStrs([]bool{true, false, true, false, true})) {
			t.Fatalf("import: %v", created)
		}
		if subs[1].ID != ola.ID || subs[1].Status != subscribe.StatusPending || !subs[1].ConfirmSentAt.Equal(now) {
			t.Fatalf("an existing address was changed or misreported: %+v", subs[1])
		}
		if subs[3].ID != subs[0].ID || subs[3].Status != subscribe.StatusActive {
			t.Fatalf("the same address twice: %+v %+v", subs[0], subs[3])
		}
		for _, i := range []int{0, 2, 4} {
			if subs[i].ID <= gone.ID {
				t.Fatalf("import reused id %d (erased %d)", subs[i].ID, gone.ID)
			}
		}
		a := must(s.GetSubscriber(ctx, subs[0].ID)).get(t)
		if a.Email != "a@example.org" || a.Name != "A" || a.Status != subscribe.StatusActive || !a.ConfirmedAt.Equal(now) ||
			!eq(a.Newsletters, []string{"monthly"}) || !eq(a.Tags, []string{"t1"}) || len(a.LinkSecret) == 0 {
			t.Fatalf("imported: %+v", a)
		}
		u := must(s.GetSubscriber(ctx, subs[2].ID)).get(t)
		if u.Status != subscribe.StatusUnsubscribed || len(u.Newsletters) != 0 || !u.UnsubscribedAt.Equal(now) {
			t.Fatalf("imported unsubscribed: %+v", u)
		}
		created = must(s.ImportSubscribers(ctx, mk(), now.Add(time.Hour))).get(t)
		for i, cr := range created {
			if cr {
				t.Fatalf("re-import created %d", i)
			}
		}
		if got := emails(must(s.ListSubscribers(ctx, subscribe.Filter{Newsletter: "monthly"})).get(t)); !eq(got, []string{"ola@example.org", "a@example.org"}) {
			t.Fatalf("monthly: %v", got)
		}
		// A large import spans several statements; every row gets its own id.
		var many []*subscribe.Subscriber
		for i := range 700 {
			many = append(many, &subscribe.Subscriber{Email: "m" + strconv.Itoa(i) + "@example.org", Status: subscribe.StatusActive,
				Newsletters: []string{"weekly"}, Tags: []string{"x"}})
		}
		created = must(s.ImportSubscribers(ctx, many, now)).get(t)
		seen := map[int64]bool{}
		for i, sub := range many {
			if !created[i] || sub.ID == 0 || seen[sub.ID] {
				t.Fatalf("row %d: created %v id %d", i, created[i], sub.ID)
			}
			seen[sub.ID] = true
		}
		if n := must(s.SubscriberStatusCounts(ctx)).get(t)["active"]; n != 701 {
			t.Fatalf("active after a large import: %d", n)
		}
	})

	t.Run("EraseAndExport", func(t *testing.T) {
		s := open(t)
		sub, _, err := s.RequestSubscription(ctx, "e@example.org", c, now, time.Hour)
		ok(t, err)
		if d, err := s.SubscriberDeliveries(ctx, sub.ID); err != nil || len(d) != 0 {
			t.Fatalf("deliveries: %v %v", d, err)
		}
		if n := must(s.Erasures(ctx)).get(t); n != 0 {
			t.Fatalf("erasures: %d", n)
		}
		ok(t, s.EraseSubscriber(ctx, "E@example.org", now))
		if _, err := s.GetSubscriber(ctx, sub.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("still there: %v", err)
		}
		if n := must(s.Erasures(ctx)).get(t); n != 1 {
			t.Fatalf("erasures: %d", n)
		}
		// The mailbox guard went with it: the address may ask again at once.
		again, send, err := s.RequestSubscription(ctx, "e+again@example.org", c, now.Add(time.Minute), time.Hour)
		if err != nil || !send {
			t.Fatalf("after erasure the mailbox was still guarded: %v %v", send, err)
		}
		// The form never hands out the erased id again.
		if again.ID <= sub.ID {
			t.Fatalf("new subscriber got id %d, the erased one had %d", again.ID, sub.ID)
		}
	})

	t.Run("EraseFoldsDeliveries", func(t *testing.T) {
		s := open(t)
		ds, isDigest := s.(ErasureDigestStore)
		if !isDigest {
			t.Skip("the store offers no digest methods")
		}
		_, err := ds.UpsertArticle(ctx, mk("p", 0), t0)
		ok(t, err)
		var ids []int64
		for _, e := range []string{"a@example.org", "b@example.org", "c@example.org"} {
			ids = append(ids, mustFirst(s.UpsertActive(ctx, e, monthly, now)).get(t).ID)
		}
		slot := t0.Add(time.Hour)
		run := must(ds.PlanRun(ctx, digest.PlanRequest{
			Selection: digest.Selection{Newsletter: "monthly", SlotAt: slot, FirstWindow: 30 * 24 * time.Hour, MaxArticles: 10},
			Slot:      "s1", Kind: digest.KindScheduled, Now: slot,
		}, func(r *digest.Run, _ []article.Article) ([]digest.Variant, error) {
			return []digest.Variant{{Key: digest.VariantAll, Subject: "Subject", HTML: "<p>x</p>", Text: "x"}}, nil
		})).get(t)
		if run.Recipients != 3 {
			t.Fatalf("planned %d deliveries", run.Recipients)
		}
		claims := must(ds.ClaimDeliveries(ctx, run.ID, "monthly", 3, slot, time.Minute)).get(t)
		if len(claims) != 3 {
			t.Fatalf("claims: %+v", claims)
		}
		// a sent, b failed, c still leased to a worker.
		ok(t, ds.RecordOutcomes(ctx, run.ID, []digest.Outcome{
			{SubscriberID: ids[0], Status: digest.DeliverySent, Reply: "250 ok", MessageID: "m1", At: slot, Lease: claims[0].LeaseUntil},
			{SubscriberID: ids[1], Status: digest.DeliveryFailed, Reply: "554 no", At: slot, Lease: claims[1].LeaseUntil},
		}))
		got := must(s.SubscriberDeliveries(ctx, ids[0])).get(t)
		if len(got) != 1 || got[0].Run != run.ID || got[0].Newsletter != "monthly" || got[0].Subject != "Subject" ||
			got[0].Status != "sent" || got[0].MessageID != "m1" || got[0].SentAt == nil || !got[0].SentAt.Equal(slot) {
			t.Fatalf("deliveries: %+v", got)
		}
		for _, e := range []string{"a@example.org", "b@example.org", "c@example.org"} {
			ok(t, s.EraseSubscriber(ctx, e, slot))
		}
		if got := must(s.SubscriberDeliveries(ctx, ids[0])).get(t); len(got) != 0 {
			t.Fatalf("deliveries kept after erasure: %+v", got)
		}
		c := must(ds.RunCounts(ctx, run.ID)).get(t)
		if c != (digest.Counts{Planned: 3, Sent: 1, Failed: 1, Skipped: 1}) {
			t.Fatalf("run counts after erasure: %+v", c)
		}
		if n := must(s.Erasures(ctx)).get(t); n != 3 {
			t.Fatalf("erasures: %d", n)
		}
	})

	t.Run("DeleteUnconfirmed", func(t *testing.T) {
		s := open(t)
		late, _, err := s.RequestSubscription(ctx, "late@example.org", c, now, time.Hour)
		ok(t, err)
		_, _, err = s.RequestSubscription(ctx, "fresh@example.org", c, now.Add(time.Hour), time.Hour)
		ok(t, err)
		_, err = s.ImportSubscribers(ctx, []*subscribe.Subscriber{{Email: "never@example.org", Status: subscribe.StatusPending}}, now)
		ok(t, err)
		n, err := s.DeleteUnconfirmed(ctx, now.Add(time.Second))
		if err != nil || n != 1 {
			t.Fatalf("deleted %d %v", n, err)
		}
		if _, err := s.GetSubscriber(ctx, late.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("still there: %v", err)
		}
		if got := emails(must(s.ListSubscribers(ctx, subscribe.Filter{})).get(t)); !eq(got, []string{"fresh@example.org", "never@example.org"}) {
			t.Fatalf("left: %v", got)
		}
	})

	t.Run("ConfirmQueue", func(t *testing.T) {
		// held queues a@ (mailed) and a+x@ (held back by the mailbox guard).
		held := func(t *testing.T) SubscriberStore {
			t.Helper()
			s := open(t)
			for i, e := range []string{"a@example.org", "a+x@example.org"} {
				ok(t, s.QueueSubscription(ctx, e, monthly, now.Add(time.Duration(i)*time.Second)))
			}
			subs := must(s.TakeConfirmations(ctx, "", lim, now)).get(t)
			if !eq(emails(subs), []string{"a@example.org"}) || !subs[0].ConfirmSentAt.Equal(now) {
				t.Fatalf("take: %v", emails(subs))
			}
			// The held-back request is recorded (pending) and stays queued.
			x := must(s.SubscriberByEmail(ctx, "a+x@example.org")).get(t)
			if x.Status != subscribe.StatusPending || !x.ConfirmSentAt.IsZero() {
				t.Fatalf("held: %+v", x)
			}
			return s
		}
		t.Run("OKDeferredThenSent", func(t *testing.T) {
			s := held(t)
			if subs := must(s.TakeConfirmations(ctx, "", lim, now.Add(30*time.Minute))).get(t); len(subs) != 0 {
				t.Fatalf("sent within the interval: %v", emails(subs))
			}
			if subs := must(s.TakeConfirmations(ctx, "", lim, now.Add(2*time.Hour))).get(t); !eq(emails(subs), []string{"a+x@example.org"}) {
				t.Fatalf("later: %v", emails(subs))
			}
			if subs := must(s.TakeConfirmations(ctx, "", lim, now.Add(5*time.Hour))).get(t); len(subs) != 0 {
				t.Fatalf("queue not emptied: %v", emails(subs))
			}
		})
		t.Run("OKFirstRequestWins", func(t *testing.T) {
			s := open(t)
			ok(t, s.QueueSubscription(ctx, "f@example.org", monthly, now))
			ok(t, s.QueueSubscription(ctx, "f@example.org", c, now.Add(time.Second)))
			subs := must(s.TakeConfirmations(ctx, "f@example.org", lim, now.Add(time.Second))).get(t)
			if len(subs) != 1 || !eq(subs[0].Newsletters, []string{"monthly"}) {
				t.Fatalf("take: %+v", subs)
			}
		})
		t.Run("OKEraseDropsHeld", func(t *testing.T) {
			s := held(t)
			ok(t, s.EraseSubscriber(ctx, "a+x@example.org", now))
			if subs := must(s.TakeConfirmations(ctx, "", lim, now.Add(2*time.Hour))).get(t); len(subs) != 0 {
				t.Fatalf("an erased address got a confirmation: %v", emails(subs))
			}
			if _, err := s.SubscriberByEmail(ctx, "a+x@example.org"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("erased address came back: %v", err)
			}
		})
		t.Run("OKConfirmedDropsHeld", func(t *testing.T) {
			s := held(t)
			sub := must(s.SubscriberByEmail(ctx, "a+x@example.org")).get(t)
			_, _, err := s.ConfirmSubscriber(ctx, sub.ID, now)
			ok(t, err)
			if subs := must(s.TakeConfirmations(ctx, "", lim, now.Add(2*time.Hour))).get(t); len(subs) != 0 {
				t.Fatalf("an active address still got a confirmation: %v", emails(subs))
			}
		})
		t.Run("OKFailedMailUndoesGuards", func(t *testing.T) {
			s := open(t)
			ok(t, s.QueueSubscription(ctx, "b@example.org", monthly, now))
			subs := must(s.TakeConfirmations(ctx, "b@example.org", lim, now)).get(t)
			if len(subs) != 1 {
				t.Fatalf("take: %v", emails(subs))
			}
			ok(t, s.ConfirmMailFailed(ctx, subs[0].ID, now))
			if got := must(s.GetSubscriber(ctx, subs[0].ID)).get(t); !got.ConfirmSentAt.IsZero() {
				t.Fatalf("sent mark kept: %v", got.ConfirmSentAt)
			}
			ok(t, s.QueueSubscription(ctx, "b+retry@example.org", monthly, now.Add(time.Minute)))
			if subs := must(s.TakeConfirmations(ctx, "", lim, now.Add(time.Minute))).get(t); !eq(emails(subs), []string{"b+retry@example.org"}) {
				t.Fatalf("after a failed mail the mailbox was still guarded: %v", emails(subs))
			}
		})
		t.Run("OKDomainBudget", func(t *testing.T) {
			s := open(t)
			lim := subscribe.ConfirmLimits{Resend: time.Hour, DomainPerHour: 2}
			for i, e := range []string{"d1@example.net", "d2@example.net", "d3@example.net", "o@example.com"} {
				ok(t, s.QueueSubscription(ctx, e, monthly, now.Add(time.Duration(i)*time.Second)))
			}
			if subs := must(s.TakeConfirmations(ctx, "", lim, now)).get(t); !eq(emails(subs), []string{"d1@example.net", "d2@example.net", "o@example.com"}) {
				t.Fatalf("first hour: %v", emails(subs))
			}
			if subs := must(s.TakeConfirmations(ctx, "", lim, now.Add(59*time.Minute))).get(t); len(subs) != 0 {
				t.Fatalf("over budget: %v", emails(subs))
			}
			if subs := must(s.TakeConfirmations(ctx, "", lim, now.Add(61*time.Minute))).get(t); !eq(emails(subs), []string{"d3@example.net"}) {
				t.Fatalf("next hour: %v", emails(subs))
			}
		})
	})

	t.Run("UnknownTags", func(t *testing.T) {
		s := open(t)
		got, err := s.UnknownTags(ctx, []string{"x", "y"})
		if err != nil || !eq(got, []string{"x", "y"}) {
			t.Fatalf("unknown: %v %v", got, err)
		}
	})
}

func errOf[T any](_ T, err error) error { return err }

func errOf3[T, U any](_ T, _ U, err error) error { return err }

func boolStrs(bs []bool) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		if b {
			out[i] = "t"
		} else {
			out[i] = "f"
		}
	}
	return out
}

// mustFirst is must for a call with a second value the caller ignores.
func mustFirst[T, U any](v T, _ U, err error) result[T] { return result[T]{v, err} }

// RunConfirmShared runs the part of the subscriber suite about two
// handles on one store (two instances): the confirmation guards hold
// across them, so racing requests for one mailbox send one mail and a
// domain's hourly budget is never overdrawn. open returns two handles on
// one fresh store.
func RunConfirmShared(t *testing.T, open func(t *testing.T) (SubscriberStore, SubscriberStore)) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	monthly := subscribe.Choice{Newsletters: []string{"monthly"}, Tags: []string{}}

	// race runs fn(handle, i) for i in [0, n) in goroutines, alternating
	// the handles, and returns the first error.
	race := func(a, b SubscriberStore, n int, fn func(s SubscriberStore, i int) error) error {
		errs := make(chan error, n)
		for i := range n {
			s := a
			if i%2 == 1 {
				s = b
			}
			go func() { errs <- fn(s, i) }()
		}
		var first error
		for range n {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		return first
	}

	t.Run("OKOneMailPerMailbox", func(t *testing.T) {
		a, b := open(t)
		var mu sync.Mutex
		var sent []string
		ok(t, race(a, b, 8, func(s SubscriberStore, i int) error {
			e := "x+" + strconv.Itoa(i) + "@example.org"
			_, send, err := s.RequestSubscription(ctx, e, monthly, now, time.Hour)
			if send {
				mu.Lock()
				sent = append(sent, e)
				mu.Unlock()
			}
			return err
		}))
		if len(sent) != 1 {
			t.Fatalf("%d confirmation mails to one mailbox: %v", len(sent), sent)
		}
		if n := must(a.SubscriberStatusCounts(ctx)).get(t)["pending"]; n != 8 {
			t.Fatalf("%d pending, want 8", n)
		}
	})
	t.Run("OKDomainBudget", func(t *testing.T) {
		a, b := open(t)
		for i := range 10 {
			ok(t, a.QueueSubscription(ctx, "d"+strconv.Itoa(i)+"@example.net", monthly, now))
		}
		lim := subscribe.ConfirmLimits{Resend: time.Hour, DomainPerHour: 3}
		var mu sync.Mutex
		total := 0
		ok(t, race(a, b, 6, func(s SubscriberStore, _ int) error {
			subs, err := s.TakeConfirmations(ctx, "", lim, now)
			mu.Lock()
			total += len(subs)
			mu.Unlock()
			return err
		}))
		if total != 3 {
			t.Fatalf("%d confirmation mails within an hourly budget of 3", total)
		}
	})
}
