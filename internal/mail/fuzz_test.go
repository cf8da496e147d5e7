package mail

import (
	"bytes"
	netmail "net/mail"
	"net/textproto"
	"slices"
	"strings"
	"testing"
)

// FuzzRender feeds arbitrary slot values to Render. Whatever the values,
// the result is either an error or a message that parses as MIME, has
// exactly the header fields of a plain rendering (no injected field) and
// means the same as encoding the substituted message from scratch.
func FuzzRender(f *testing.F) {
	f.Add("Åsa Öberg", "asa", "r1", "abc")
	f.Add("Eve\r\nBcc: victim@example.com", "eve", "r2", "x")
	f.Add("🎉", "x", "id", strings.Repeat("A", 220))
	f.Add(`"quoted" \ name`, "a.b+c", "0", "a=b&c=d")
	f.Add("=?utf-8?q?Eve?=", "x", "y", "%0D%0ABcc:")
	m := digestMessage(2 << 10)
	m.To.Email = Slot("local") + "@example.net"
	m.ListUnsubscribe = "https://news.example.org/u?t=" + Slot("unsub")
	p, err := Prepare(m)
	if err != nil {
		f.Fatal(err)
	}
	base, err := p.Render(nil, map[string]string{"name": "n", "local": "l", "rid": "r", "unsub": "u", "email": "e@example.net"})
	if err != nil {
		f.Fatal(err)
	}
	wantFields := fieldNames(f, base)

	f.Fuzz(func(t *testing.T, name, local, rid, unsub string) {
		values := map[string]string{"name": name, "local": local, "rid": rid, "unsub": unsub, "email": local + "@example.net"}
		raw, err := p.Render(nil, values)
		if err != nil {
			return
		}
		if got := fieldNames(t, raw); !slices.Equal(got, wantFields) {
			t.Fatalf("header fields %v, want %v", got, wantFields)
		}
		got := mustParse(t, raw)
		if !strings.Contains(got.Text, "Hej "+name+",") {
			t.Errorf("text part lost the name %q", name)
		}
		for _, v := range values {
			if strings.Contains(v, slotPrefix) {
				return // substitute below would expand markers inside values
			}
		}
		want, err := Encode(substitute(m, values))
		if err != nil {
			t.Fatalf("Render accepted what Encode rejects: %v", err)
		}
		assertSameMeaning(t, raw, want)
	})
}

// fieldNames lists the top-level header field names of raw, sorted.
func fieldNames(t testing.TB, raw []byte) []string {
	t.Helper()
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		t.Fatal("no header end")
	}
	var names []string
	for _, line := range strings.Split(string(raw[:end]), "\r\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("header line without colon: %q", line)
		}
		names = append(names, textproto.CanonicalMIMEHeaderKey(name))
	}
	slices.Sort(names)
	return names
}

// FuzzPlainAddress checks checkEmail's fast path against net/mail: every
// address plainAddress accepts, ParseAddress accepts unchanged, so the fast
// path never lets through what the full check would refuse.
func FuzzPlainAddress(f *testing.F) {
	for _, s := range []string{
		"a@example.org", "a.b+c@x-y.example", "x@y", "!#$%&'*+-/=?^_`{|}~@example.org",
		".a@example.org", "a.@example.org", "a..b@example.org", "a@b@c", "@example.org", "a@",
		"a@.example", "a@example..org", "\"q\"@example.org", "a@[127.0.0.1]", "a b@example.org",
		"a@exämple.org", "a\r\n@example.org", "a(c)@example.org",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !plainAddress(s) {
			return
		}
		a, err := netmail.ParseAddress(s)
		if err != nil || a.Address != s || a.Name != "" {
			t.Fatalf("plainAddress(%q) but ParseAddress = %v, %v", s, a, err)
		}
		for i := 0; i < len(s); i++ {
			if s[i] <= ' ' || s[i] > '~' {
				t.Fatalf("plainAddress(%q) with byte %q", s, s[i])
			}
		}
	})
}
