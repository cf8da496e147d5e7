package digest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/bounce"
)

// verp is the bounce domain's addresses, made with the real tokens.
type verp struct{ t *bounce.Tokens }

func (v verp) ReturnPath(runID, subID int64, secret []byte) (string, error) {
	tok, err := v.t.Delivery(runID, subID, secret)
	return bounce.ReturnPath(tok, "bounces.example.org"), err
}

func (v verp) UnsubscribeMailto(subID int64, newsletter string, secret []byte) (string, error) {
	tok, err := v.t.Unsubscribe(subID, newsletter, secret)
	return bounce.UnsubscribeAddress(tok, "bounces.example.org"), err
}

// TestDeliverVERP: with a bounce domain every delivery's envelope sender
// is its own bounces+{token} address naming run and subscriber, and
// List-Unsubscribe offers the matching mailto: unsubscribe+ address.
func TestDeliverVERP(t *testing.T) {
	e, _ := composeFixture(t)
	e.subscribers(t, 3, nil)
	tokens := bounce.NewTokens([][]byte{[]byte("k")})
	var rec recorder
	s := e.service(t, &rec, func(c *digest.Config) { c.Bounce = verp{tokens} })
	ctx := context.Background()
	run, err := s.PlanSlot(ctx, "monthly", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.DeliverRun(dctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if len(rec.envs) != 3 {
		t.Fatalf("%d messages", len(rec.envs))
	}
	seen := map[int64]bool{}
	for i, env := range rec.envs {
		if !strings.HasPrefix(env.From, "bounces+") || !strings.HasSuffix(env.From, "@bounces.example.org") {
			t.Fatalf("envelope from %q", env.From)
		}
		tokStr, unsub, ok := bounce.ParseAddress(env.From, "bounces.example.org")
		if !ok || unsub {
			t.Fatalf("return path %q does not parse", env.From)
		}
		tok, _, _, err := bounce.Decode(tokStr)
		if err != nil || tok.Kind != bounce.KindDelivery || tok.RunID != run.ID {
			t.Fatalf("token %+v, %v", tok, err)
		}
		seen[tok.SubscriberID] = true
		h, _, _ := parts(t, rec.raws[i])
		lu := h.Get("List-Unsubscribe")
		if !strings.Contains(lu, ">, <mailto:unsubscribe+") || !strings.HasSuffix(lu, "@bounces.example.org>") {
			t.Fatalf("List-Unsubscribe %q", lu)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("return paths name %d subscribers, want 3", len(seen))
	}
}
