package mail

import (
	"strings"
	"testing"
)

// TestListUnsubscribeMailto: with a bounce domain the List-Unsubscribe
// header offers mailto:unsubscribe+{token}@domain after the URL, the same
// from Render (per recipient) as from Encode; a bad address is refused.
func TestListUnsubscribeMailto(t *testing.T) {
	m := digestMessage(200)
	m.ListUnsubscribeMailto = Slot("unsubmail")
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"name": "Alice", "email": "alice@example.net", "rid": "r1",
		"unsub": "https://news.example.org/unsubscribe?token=abc", "unsubmail": "unsubscribe+abc123@bounces.example.org"}
	t.Run("OK", func(t *testing.T) {
		got, err := p.Render(nil, values)
		if err != nil {
			t.Fatal(err)
		}
		want := "<https://news.example.org/unsubscribe?token=abc>, <mailto:unsubscribe+abc123@bounces.example.org>"
		if h := mustParse(t, got).Header.Get("List-Unsubscribe"); h != want {
			t.Fatalf("List-Unsubscribe = %q, want %q", h, want)
		}
		c := substitute(m, values)
		c.ListUnsubscribeMailto = values["unsubmail"]
		enc, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		assertSameMeaning(t, got, enc)
	})
	t.Run("ErrBadAddress", func(t *testing.T) {
		bad := map[string]string{}
		for k, v := range values {
			bad[k] = v
		}
		bad["unsubmail"] = "no address>\r\nBcc: x@y"
		if _, err := p.Render(nil, bad); err == nil || !strings.Contains(err.Error(), "unsubmail") && !strings.Contains(err.Error(), "mailto") {
			t.Fatalf("Render = %v, want an error", err)
		}
	})
}
