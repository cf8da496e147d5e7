package bounce

import (
	"errors"
	"strings"
	"testing"
)

var errLookup = errors.New("store down")

// secrets is a subscriber table for token tests.
type secrets map[int64][]byte

func (s secrets) get(id int64) ([]byte, bool, error) {
	if id == 999 {
		return nil, false, errLookup
	}
	sec, ok := s[id]
	return sec, ok, nil
}

func TestTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	old := []byte("an older key, still verifying ok!")
	tk := NewTokens([][]byte{key, old})
	rows := secrets{42: []byte("secret-42"), 1 << 40: []byte("big"), 7: nil}

	t.Run("OK", func(t *testing.T) {
		cases := []struct {
			name string
			make func() (string, error)
			want Token
		}{
			{"Delivery", func() (string, error) { return tk.Delivery(1<<50, 1<<40, []byte("big")) }, Token{Kind: KindDelivery, RunID: 1 << 50, SubscriberID: 1 << 40}},
			{"Mail", func() (string, error) { return tk.SubscriberMail(42, "confirm", []byte("secret-42")) }, Token{Kind: KindMail, SubscriberID: 42, MailKind: "confirm"}},
			{"Unsubscribe", func() (string, error) { return tk.Unsubscribe(42, "weekly", []byte("secret-42")) }, Token{Kind: KindUnsubscribe, SubscriberID: 42, Newsletter: "weekly"}},
			{"UnsubscribeAll", func() (string, error) { return tk.Unsubscribe(7, "", nil) }, Token{Kind: KindUnsubscribe, SubscriberID: 7}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s, err := c.make()
				if err != nil {
					t.Fatal(err)
				}
				if s != strings.ToLower(s) || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz234567") != "" {
					t.Fatalf("token %q is not lowercase base32", s)
				}
				addr := ReturnPath(s, "news.example.com")
				if c.want.Kind == KindUnsubscribe {
					addr = UnsubscribeAddress(s, "news.example.com")
				}
				if local, _, _ := strings.Cut(addr, "@"); len(local) > 64 {
					t.Fatalf("local part %d octets", len(local))
				}
				// MTAs may upper-case the local part and the domain.
				for _, a := range []string{addr, strings.ToUpper(addr), "<" + addr + ">"} {
					got, err := tk.VerifyAddress(a, "news.example.com", rows.get)
					if err != nil || got != c.want {
						t.Fatalf("VerifyAddress(%q) = %+v, %v; want %+v", a, got, err, c.want)
					}
				}
			})
		}
	})
	t.Run("OKOldKey", func(t *testing.T) {
		s, _ := NewTokens([][]byte{old}).Delivery(3, 42, []byte("secret-42"))
		if _, err := tk.Verify(s, rows.get); err != nil {
			t.Fatal(err)
		}
	})
	good, _ := tk.Delivery(3, 42, []byte("secret-42"))
	unsub, _ := tk.Unsubscribe(42, "weekly", []byte("secret-42"))
	t.Run("ErrInvalid", func(t *testing.T) {
		other, _ := NewTokens([][]byte{[]byte("someone else's key, 32 bytes ok!")}).Delivery(3, 42, []byte("secret-42"))
		rebound, _ := tk.Delivery(3, 42, []byte("a previous row's secret"))
		gone, _ := tk.Delivery(3, 43, nil)
		flipped := []byte(good)
		flipped[len(flipped)-1] ^= 1
		if flipped[len(flipped)-1] > 'z' || flipped[len(flipped)-1] < '2' {
			flipped[len(flipped)-1] = 'a'
		}
		for name, addr := range map[string]string{
			"OtherKey":       ReturnPath(other, "news.example.com"),
			"OtherRowSecret": ReturnPath(rebound, "news.example.com"),
			"NoSubscriber":   ReturnPath(gone, "news.example.com"),
			"Tampered":       ReturnPath(string(flipped), "news.example.com"),
			"OtherDomain":    ReturnPath(good, "evil.example"),
			"UnsubAsBounce":  ReturnPath(unsub, "news.example.com"),
			"BounceAsUnsub":  UnsubscribeAddress(good, "news.example.com"),
			"NoToken":        "bounces+@news.example.com",
			"PlainMailbox":   "postmaster@news.example.com",
			"NotBase32":      "bounces+ABC189!!@news.example.com",
			"Truncated":      ReturnPath(good[:len(good)-3], "news.example.com"),
			"NoAt":           "bounces+" + good,
			"Empty":          "",
		} {
			t.Run(name, func(t *testing.T) {
				if tok, err := tk.VerifyAddress(addr, "news.example.com", rows.get); !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("VerifyAddress(%q) = %+v, %v; want ErrInvalidToken", addr, tok, err)
				}
			})
		}
	})
	t.Run("ErrLookup", func(t *testing.T) {
		s, _ := tk.Delivery(3, 999, nil)
		if _, err := tk.Verify(s, rows.get); !errors.Is(err, errLookup) || errors.Is(err, ErrInvalidToken) {
			t.Fatalf("err = %v, want the lookup error", err)
		}
	})
	t.Run("ErrTokenTooLong", func(t *testing.T) {
		if _, err := tk.Unsubscribe(1<<62, strings.Repeat("n", 40), nil); !errors.Is(err, ErrTokenTooLong) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrNoKey", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("NewTokens(nil) did not panic")
			}
		}()
		NewTokens(nil)
	})
}

func FuzzDecode(f *testing.F) {
	tk := NewTokens([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	for _, mk := range []func() (string, error){
		func() (string, error) { return tk.Delivery(5, 6, nil) },
		func() (string, error) { return tk.SubscriberMail(6, "welcome", nil) },
		func() (string, error) { return tk.Unsubscribe(6, "weekly", nil) },
	} {
		s, _ := mk()
		f.Add(s)
	}
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		tok, _, _, err := Decode(s)
		if err != nil {
			return
		}
		if tok.SubscriberID <= 0 || tok.Kind == KindDelivery && tok.RunID <= 0 {
			t.Fatalf("decoded nonsense %+v", tok)
		}
		// Whatever decodes must not verify without the right MAC.
		if _, err := tk.Verify(s, func(int64) ([]byte, bool, error) { return nil, true, nil }); err == nil {
			re, _ := tk.sign("", tok, nil)
			if !strings.EqualFold(re, s) {
				t.Fatalf("%q verified but is not what Tokens signs (%q)", s, re)
			}
		}
	})
}
