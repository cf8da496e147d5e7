package mail

import (
	"bytes"
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
