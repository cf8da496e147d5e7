package sqlite

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
)

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "h.db")
	st, err := Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, p
}

func TestTokenKey(t *testing.T) {
	ctx := context.Background()
	st, p := openTest(t)
	k1, err := st.TokenKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("key %x %v", k1, err)
	}
	st.Close()
	st2, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	k2, err := st2.TokenKey(ctx)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("key not kept: %x %x %v", k1, k2, err)
	}
}

func TestSubscriberStore(t *testing.T) {
	ctx := context.Background()
	st, _ := openTest(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := subscribe.Choice{Name: "Ola", Newsletters: []string{"monthly", "weekly"}, Tags: []string{"wp4"}, Consent: subscribe.Consent{At: now, IP: "192.0.2.1", Source: "form", Text: "ok"}}

	t.Run("OK", func(t *testing.T) {
		sub, send, err := st.RequestSubscription(ctx, "ola@example.org", c, now, time.Hour)
		if err != nil || !send || sub.Status != subscribe.StatusPending || sub.ConfirmSentAt.IsZero() {
			t.Fatalf("request: %+v %v %v", sub, send, err)
		}
		if _, send, _ := st.RequestSubscription(ctx, "ola@example.org", c, now.Add(time.Minute), time.Hour); send {
			t.Fatal("resent within the interval")
		}
		sub, changed, err := st.ConfirmSubscriber(ctx, sub.ID, now)
		if err != nil || !changed || sub.Status != subscribe.StatusActive || sub.ConfirmedAt.IsZero() {
			t.Fatalf("confirm: %+v %v %v", sub, changed, err)
		}
		sub, err = st.Unsubscribe(ctx, sub.ID, "weekly", now)
		if err != nil || sub.Status != subscribe.StatusActive || strings.Join(sub.Newsletters, ",") != "monthly" {
			t.Fatalf("unsubscribe weekly: %+v %v", sub, err)
		}
		sub, err = st.Unsubscribe(ctx, sub.ID, "monthly", now)
		if err != nil || sub.Status != subscribe.StatusUnsubscribed || sub.UnsubscribedAt.IsZero() {
			t.Fatalf("unsubscribe monthly: %+v %v", sub, err)
		}
		list, err := st.ListSubscribers(ctx, subscribe.Filter{Status: subscribe.StatusUnsubscribed})
		if err != nil || len(list) != 1 || list[0].Email != "ola@example.org" || strings.Join(list[0].Tags, ",") != "wp4" {
			t.Fatalf("list: %+v %v", list, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := st.GetSubscriber(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
		if err := st.EraseSubscriber(ctx, "nobody@example.org", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("Import", func(t *testing.T) {
		mk := func() []*subscribe.Subscriber {
			return []*subscribe.Subscriber{
				{Email: "a@example.org", Status: subscribe.StatusActive, Newsletters: []string{"monthly"}, Tags: []string{}},
				{Email: "ola@example.org", Status: subscribe.StatusActive, Newsletters: []string{"monthly"}},
				{Email: "u@example.org", Status: subscribe.StatusUnsubscribed, Newsletters: []string{"monthly"}},
			}
		}
		subs := mk()
		created, err := st.ImportSubscribers(ctx, subs, now)
		if err != nil || !created[0] || created[1] || !created[2] {
			t.Fatalf("import: %v %v", created, err)
		}
		if subs[1].Status != subscribe.StatusUnsubscribed {
			t.Fatalf("an existing unsubscribed address was changed or misreported: %s", subs[1].Status)
		}
		created, err = st.ImportSubscribers(ctx, mk(), now)
		if err != nil || created[0] || created[1] || created[2] {
			t.Fatalf("re-import: %v %v", created, err)
		}
		list, _ := st.ListSubscribers(ctx, subscribe.Filter{Newsletter: "monthly"})
		if len(list) != 1 || list[0].Email != "a@example.org" {
			t.Fatalf("monthly: %+v", list)
		}
	})
	t.Run("DeleteUnconfirmed", func(t *testing.T) {
		sub, _, _ := st.RequestSubscription(ctx, "late@example.org", c, now, time.Hour)
		n, err := st.DeleteUnconfirmed(ctx, now.Add(time.Second))
		if err != nil || n != 1 {
			t.Fatalf("deleted %d %v", n, err)
		}
		if _, err := st.GetSubscriber(ctx, sub.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("still there: %v", err)
		}
	})
}
