package subscribe

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old := NewTokens([][]byte{[]byte("old-key-0123456789")})
	tok := NewTokens([][]byte{[]byte("new-key-0123456789"), []byte("old-key-0123456789")})
	other := NewTokens([][]byte{[]byte("someone-else-key")})

	t.Run("OK", func(t *testing.T) {
		id, err := tok.VerifyConfirm(tok.Confirm(42, now.Add(time.Hour)), now)
		if err != nil || id != 42 {
			t.Fatalf("confirm: %d, %v", id, err)
		}
		id, nl, err := tok.VerifyUnsubscribe(tok.Unsubscribe(1<<40, "monthly"))
		if err != nil || id != 1<<40 || nl != "monthly" {
			t.Fatalf("unsubscribe: %d %q %v", id, nl, err)
		}
		id, err = tok.VerifyPreferences(tok.Preferences(7))
		if err != nil || id != 7 {
			t.Fatalf("preferences: %d %v", id, err)
		}
	})
	t.Run("ErrExpiredToken", func(t *testing.T) {
		_, err := tok.VerifyConfirm(tok.Confirm(42, now), now)
		if !errors.Is(err, ErrExpiredToken) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("KeyRotation", func(t *testing.T) {
		// Links signed with the old key still verify after rotation.
		id, nl, err := tok.VerifyUnsubscribe(old.Unsubscribe(9, "weekly"))
		if err != nil || id != 9 || nl != "weekly" {
			t.Fatalf("old link: %d %q %v", id, nl, err)
		}
		if _, _, err := other.VerifyUnsubscribe(tok.Unsubscribe(9, "weekly")); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("foreign key accepted: %v", err)
		}
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		good := tok.Unsubscribe(5, "monthly")
		raw, _ := base64.RawURLEncoding.DecodeString(good)
		for i := range raw {
			bad := append([]byte(nil), raw...)
			bad[i] ^= 0x01
			if _, _, err := tok.VerifyUnsubscribe(base64.RawURLEncoding.EncodeToString(bad)); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("flipped byte %d accepted: %v", i, err)
			}
		}
		for _, s := range []string{"", "x", "!!!!", strings.Repeat("A", 300), good + "A"} {
			if _, _, err := tok.VerifyUnsubscribe(s); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("%q accepted: %v", s, err)
			}
		}
		// A token of one kind never passes for another.
		if _, err := tok.VerifyPreferences(tok.Unsubscribe(5, "")); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("unsubscribe token passed as preferences: %v", err)
		}
		if _, err := tok.VerifyConfirm(tok.Preferences(5), now); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("preferences token passed as confirm: %v", err)
		}
	})
	t.Run("URLs", func(t *testing.T) {
		u, err := url.Parse(tok.UnsubscribeURL("https://news.example.org/", 3, "monthly"))
		if err != nil || u.Path != "/unsubscribe" || u.Host != "news.example.org" {
			t.Fatalf("unsubscribe URL %v %v", u, err)
		}
		if len(u.Query().Get("token")) > 60 {
			t.Errorf("token not compact: %d chars", len(u.Query().Get("token")))
		}
		if _, nl, err := tok.VerifyUnsubscribe(u.Query().Get("token")); err != nil || nl != "monthly" {
			t.Errorf("round trip: %q %v", nl, err)
		}
		if !strings.HasPrefix(tok.PreferencesURL("http://localhost:8080", 3), "http://localhost:8080/preferences?token=") {
			t.Error("preferences URL")
		}
		if !strings.HasPrefix(tok.ConfirmURL("http://localhost:8080", 3, now), "http://localhost:8080/subscribe/confirm?token=") {
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
	l := NewLimiter(3)
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a", now); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, retry := l.Allow("a", now)
	if ok || retry <= 0 || retry > 20*time.Second+time.Millisecond {
		t.Fatalf("4th: %v %v", ok, retry)
	}
	if ok, _ := l.Allow("b", now); !ok {
		t.Fatal("another key limited")
	}
	if ok, _ := l.Allow("a", now.Add(20*time.Second)); !ok {
		t.Fatal("not refilled")
	}
	if ok, _ := NewLimiter(0).Allow("a", now); !ok {
		t.Fatal("zero rate limits")
	}
}
