package subscribe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// rows is a subscriber table for token tests: what the store's
// GetSubscriber returns.
type rows map[int64]*Subscriber

func (r rows) get(id int64) (*Subscriber, error) {
	if sub := r[id]; sub != nil {
		return sub, nil
	}
	return nil, fmt.Errorf("subscriber: %w", store.ErrNotFound)
}

// oldToken signs a token in the format used before links were bound to a
// row (kind, id, expiry, newsletter; MAC over those alone).
func oldToken(key []byte, kind byte, id int64, exp time.Time, nl string) string {
	buf := []byte{kind}
	buf = binary.AppendUvarint(buf, uint64(id))
	var e uint64
	if !exp.IsZero() {
		e = uint64(exp.Unix())
	}
	buf = binary.AppendUvarint(buf, e)
	buf = append(buf, nl...)
	h := hmac.New(sha256.New, key)
	h.Write(buf)
	return base64.RawURLEncoding.EncodeToString(append(buf, h.Sum(nil)[:16]...))
}

func TestTokens(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	oldKey := []byte("old-key-0123456789")
	old := NewTokens([][]byte{oldKey})
	tok := NewTokens([][]byte{[]byte("new-key-0123456789"), oldKey})
	other := NewTokens([][]byte{[]byte("someone-else-key")})
	s42 := []byte("secret-of-row-42")
	r := rows{42: {ID: 42, LinkSecret: s42}, 1 << 40: {ID: 1 << 40, LinkSecret: []byte("big")}, 7: {ID: 7, LinkSecret: []byte("seven")},
		5: {ID: 5, LinkSecret: []byte("five")}, 9: {ID: 9, LinkSecret: []byte("nine")}}

	t.Run("OK", func(t *testing.T) {
		sub, err := tok.VerifyConfirm(tok.Confirm(42, s42, now.Add(time.Hour)), now, r.get)
		if err != nil || sub.ID != 42 {
			t.Fatalf("confirm: %v, %v", sub, err)
		}
		sub, nl, err := tok.VerifyUnsubscribe(tok.Unsubscribe(1<<40, []byte("big"), "monthly"), r.get)
		if err != nil || sub.ID != 1<<40 || nl != "monthly" {
			t.Fatalf("unsubscribe: %v %q %v", sub, nl, err)
		}
		sub, err = tok.VerifyPreferences(tok.Preferences(7, []byte("seven")), r.get)
		if err != nil || sub.ID != 7 {
			t.Fatalf("preferences: %v %v", sub, err)
		}
	})
	t.Run("ErrExpiredToken", func(t *testing.T) {
		_, err := tok.VerifyConfirm(tok.Confirm(42, s42, now), now, r.get)
		if !errors.Is(err, ErrExpiredToken) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("KeyRotation", func(t *testing.T) {
		// Links signed with the old key still verify after rotation.
		sub, nl, err := tok.VerifyUnsubscribe(old.Unsubscribe(9, []byte("nine"), "weekly"), r.get)
		if err != nil || sub.ID != 9 || nl != "weekly" {
			t.Fatalf("old link: %v %q %v", sub, nl, err)
		}
		if _, _, err := other.VerifyUnsubscribe(tok.Unsubscribe(9, []byte("nine"), "weekly"), r.get); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("foreign key accepted: %v", err)
		}
	})
	t.Run("ErrInvalidTokenOtherRow", func(t *testing.T) {
		// Row 42 was erased and a new row came to have id 42: the old
		// row's links do not fit it, and a gone row's links fit nothing.
		link := tok.Unsubscribe(42, s42, "")
		reborn := rows{42: {ID: 42, LinkSecret: []byte("secret-of-new-42")}}
		if _, _, err := tok.VerifyUnsubscribe(link, reborn.get); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("link of the old row 42 fits the new one: %v", err)
		}
		if _, _, err := tok.VerifyUnsubscribe(link, rows{}.get); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("link of an erased row: %v", err)
		}
		if _, _, err := tok.VerifyUnsubscribe(tok.Unsubscribe(42, nil, ""), rows{42: {ID: 42}}.get); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("link bound to no secret: %v", err)
		}
		failing := errors.New("disk on fire")
		if _, _, err := tok.VerifyUnsubscribe(link, func(int64) (*Subscriber, error) { return nil, failing }); !errors.Is(err, failing) {
			t.Errorf("store error: %v", err)
		}
	})
	t.Run("OldFormat", func(t *testing.T) {
		legacy := rows{3: {ID: 3, LinkSecret: []byte("three"), LegacyLinks: true}, 4: {ID: 4, LinkSecret: []byte("four")}}
		sub, nl, err := tok.VerifyUnsubscribe(oldToken(oldKey, 'u', 3, time.Time{}, "monthly"), legacy.get)
		if err != nil || sub.ID != 3 || nl != "monthly" {
			t.Fatalf("old-format link of a row from before: %v %q %v", sub, nl, err)
		}
		if sub, err := tok.VerifyConfirm(oldToken(oldKey, 'c', 3, now.Add(time.Hour), ""), now, legacy.get); err != nil || sub.ID != 3 {
			t.Fatalf("old-format confirm: %v %v", sub, err)
		}
		if sub, err := tok.VerifyPreferences(oldToken(oldKey, 'p', 3, time.Time{}, ""), legacy.get); err != nil || sub.ID != 3 {
			t.Fatalf("old-format preferences: %v %v", sub, err)
		}
		// A row made since (or above the high-water mark) takes none.
		if _, _, err := tok.VerifyUnsubscribe(oldToken(oldKey, 'u', 4, time.Time{}, ""), legacy.get); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("old-format link of a new row: %v", err)
		}
		if _, _, err := tok.VerifyUnsubscribe(oldToken([]byte("someone-else-key"), 'u', 3, time.Time{}, ""), legacy.get); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("old-format link with a foreign key: %v", err)
		}
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		good := tok.Unsubscribe(5, []byte("five"), "monthly")
		raw, _ := base64.RawURLEncoding.DecodeString(good)
		for i := range raw {
			bad := append([]byte(nil), raw...)
			bad[i] ^= 0x01
			if _, _, err := tok.VerifyUnsubscribe(base64.RawURLEncoding.EncodeToString(bad), r.get); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("flipped byte %d accepted: %v", i, err)
			}
		}
		for _, s := range []string{"", "x", "!!!!", strings.Repeat("A", 300), good + "A"} {
			if _, _, err := tok.VerifyUnsubscribe(s, r.get); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("%q accepted: %v", s, err)
			}
		}
		// A token of one kind never passes for another.
		if _, err := tok.VerifyPreferences(tok.Unsubscribe(5, []byte("five"), ""), r.get); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("unsubscribe token passed as preferences: %v", err)
		}
		if _, err := tok.VerifyConfirm(tok.Preferences(5, []byte("five")), now, r.get); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("preferences token passed as confirm: %v", err)
		}
	})
	t.Run("URLs", func(t *testing.T) {
		u, err := url.Parse(tok.UnsubscribeURL("https://news.example.org/", 5, []byte("five"), "monthly"))
		if err != nil || u.Path != "/unsubscribe" || u.Host != "news.example.org" {
			t.Fatalf("unsubscribe URL %v %v", u, err)
		}
		if len(u.Query().Get("token")) > 60 {
			t.Errorf("token not compact: %d chars", len(u.Query().Get("token")))
		}
		if _, nl, err := tok.VerifyUnsubscribe(u.Query().Get("token"), r.get); err != nil || nl != "monthly" {
			t.Errorf("round trip: %q %v", nl, err)
		}
		if !strings.HasPrefix(tok.PreferencesURL("http://localhost:8080", 3, nil), "http://localhost:8080/preferences?token=") {
			t.Error("preferences URL")
		}
		if !strings.HasPrefix(tok.ConfirmURL("http://localhost:8080", 3, nil, now), "http://localhost:8080/subscribe/confirm?token=") {
			t.Error("confirm URL")
		}
	})
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  Anna.Berg@Example.ORG ", "Anna.Berg@example.org"},
		{"lars@bücher.example", "lars@xn--bcher-kva.example"},
		{"x+tag@sub.example.co.uk", "x+tag@sub.example.co.uk"},
		{"o'brien@example.ie", "o'brien@example.ie"},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "plain", "@example.org", "a@", "a@localhost", "a b@example.org", "a@exa mple.org",
		"a\r\nBcc: x@evil.example@example.org", "a@example.org\r\nBcc: x@evil.example", "a\x00@example.org",
		"<a@example.org>", "a@example.org, b@example.org", "a@example.org;b@example.org", `"a"@example.org`,
		"a..b@example.org", ".a@example.org", "a@-example.org", "a@example..org", "a@example.org.",
		strings.Repeat("a", 65) + "@example.org", "a@" + strings.Repeat("b", 250) + ".org", "å@example.org"} {
		if got, err := NormalizeEmail(in); !errors.Is(err, ErrInvalidEmail) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrInvalidEmail", in, got, err)
		}
	}
}

func TestCleanName(t *testing.T) {
	if got, err := CleanName("  Åsa   Lindqvist "); err != nil || got != "Åsa Lindqvist" {
		t.Errorf("got %q %v", got, err)
	}
	for _, in := range []string{"a\r\nBcc: x", "a\x00", "a\u2028b", strings.Repeat("x", MaxName+1)} {
		if _, err := CleanName(in); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("CleanName(%q) = %v", in, err)
		}
	}
}

func TestLimiter(t *testing.T) {
	ctx := context.Background()
	l := NewLimiter(3)
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow(ctx, "a", now); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, retry := l.Allow(ctx, "a", now)
	if ok || retry <= 0 || retry > 20*time.Second+time.Millisecond {
		t.Fatalf("4th: %v %v", ok, retry)
	}
	if ok, _ := l.Allow(ctx, "b", now); !ok {
		t.Fatal("another key limited")
	}
	if ok, _ := l.Allow(ctx, "a", now.Add(20*time.Second)); !ok {
		t.Fatal("not refilled")
	}
	if ok, _ := NewLimiter(0).Allow(ctx, "a", now); !ok {
		t.Fatal("zero rate limits")
	}
}
