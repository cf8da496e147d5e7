package mail

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// digestMessage is a list message with slots in every supported place.
func digestMessage(htmlSize int) *Message {
	var html, text strings.Builder
	html.WriteString("<!doctype html><html><body style=\"font-family: sans-serif\">\n<p>Hej " + Slot("name") + ",</p>\n")
	text.WriteString("Hej " + Slot("name") + ",\n\n")
	for i := 0; html.Len() < htmlSize; i++ {
		fmt.Fprintf(&html, `<h2 style="margin:0 0 8px 0;color:#222">Article %d: Smörgåsbord of news — ünïcödé and "quotes" = equals</h2>`+
			"\n<p>%s</p>\n<p><a href=\"https://news.example.org/articles/article-%d?utm=%s\">Read more</a></p>\n",
			i, strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 6), i, Slot("rid"))
		fmt.Fprintf(&text, "Article %d: Smörgåsbord of news\n%s\nhttps://news.example.org/articles/article-%d\n\n",
			i, strings.Repeat("Lorem ipsum dolor sit amet. ", 4), i)
	}
	html.WriteString(`<p style="font-size:small"><a href="` + Slot("unsub") + `">Unsubscribe</a> ` + Slot("unsub") + "</p></body></html>")
	text.WriteString("Unsubscribe: " + Slot("unsub") + "\n")
	return &Message{
		From:            Address{Name: "Cluster Bridge Monthly", Email: "news@news.example.org"},
		To:              Address{Name: Slot("name"), Email: Slot("email")},
		Subject:         "Cluster Bridge Monthly: März 2026",
		Text:            text.String(),
		HTML:            html.String(),
		ListID:          "Cluster Bridge Monthly <monthly.news.example.org>",
		ListUnsubscribe: Slot("unsub"),
		OneClick:        true,
		Headers:         [][2]string{{"X-Herald-Run", "7"}},
		Date:            time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		MessageID:       "run7." + Slot("rid") + "@news.example.org",
	}
}

// substitute returns m with every slot replaced by its value, as a caller
// who did not use Prepare would have built it.
func substitute(m *Message, values map[string]string) *Message {
	c := *m
	r := func(s string) string {
		for k, v := range values {
			s = strings.ReplaceAll(s, Slot(k), v)
		}
		return s
	}
	c.To = Address{Name: r(m.To.Name), Email: r(m.To.Email)}
	c.Text, c.HTML, c.ListUnsubscribe, c.MessageID = r(m.Text), r(m.HTML), r(m.ListUnsubscribe), r(m.MessageID)
	return &c
}

var renderCases = []struct {
	name   string
	values map[string]string
}{
	{"ASCII", map[string]string{"name": "Alice Example", "email": "alice@example.net", "rid": "r1",
		"unsub": "https://news.example.org/unsubscribe?token=abc"}},
	{"Nordic", map[string]string{"name": "Åsa Öberg-Ødegård", "email": "asa@example.se", "rid": "r-2",
		"unsub": "https://news.example.org/u?t=x"}},
	{"Emoji", map[string]string{"name": "Zoë 🎉 \"The\" Tester", "email": "zoe+news@example.org", "rid": "3",
		"unsub": "https://news.example.org/u?t=y"}},
	{"QuotesBackslash", map[string]string{"name": `Bob "Bobby" \ Tables`, "email": "bob@example.com", "rid": "4",
		"unsub": "https://news.example.org/u?t=z"}},
	{"LongURL", map[string]string{"name": "Long", "email": "long@example.com", "rid": strings.Repeat("x", 40),
		"unsub": "https://news.example.org/unsubscribe?token=" + strings.Repeat("AbCdEf0123456789_-", 14) + "&n=monthly"}},
	{"EmptyName", map[string]string{"name": "", "email": "x@example.com", "rid": "5", "unsub": "https://e.org/u"}},
	{"Spaces", map[string]string{"name": "  spaced  out  ", "email": "s@example.com", "rid": "6", "unsub": "https://e.org/u"}},
	{"LongName", map[string]string{"name": strings.Repeat("Märta-Lisa ", 20), "email": "m@example.com", "rid": "7",
		"unsub": "https://e.org/u"}},
	{"NonASCIIBackslash", map[string]string{"name": `Zoë \ Backslash` + "\x15", "email": "z@example.com", "rid": "9", "unsub": "https://e.org/u#"}},
	{"EqualsAndTabs", map[string]string{"name": "a=b\tc", "email": "e@example.com", "rid": "8", "unsub": "https://e.org/u?a=b&c=d"}},
}

func TestRenderMatchesEncode(t *testing.T) {
	for _, size := range []int{200, 24 << 10} {
		m := digestMessage(size)
		p, err := Prepare(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Slots(); !reflect.DeepEqual(got, []string{"email", "name", "rid", "unsub"}) {
			t.Errorf("Slots() = %v", got)
		}
		for _, tt := range renderCases {
			t.Run(fmt.Sprintf("%s/%d", tt.name, size), func(t *testing.T) {
				got, err := p.Render(nil, tt.values)
				if err != nil {
					t.Fatal(err)
				}
				want, err := Encode(substitute(m, tt.values))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(got, []byte(slotPrefix)) {
					t.Error("rendered message still holds a slot marker")
				}
				assertSameMeaning(t, got, want)
				pg := mustParse(t, got)
				if pg.To.Name != strings.TrimSpace(tt.values["name"]) && pg.To.Name != tt.values["name"] {
					t.Errorf("To name = %q, want %q", pg.To.Name, tt.values["name"])
				}
			})
		}
	}
}

// assertSameMeaning compares what a reader sees in two messages.
func assertSameMeaning(t *testing.T, got, want []byte) {
	t.Helper()
	g, w := mustParse(t, got), mustParse(t, want)
	if g.Subject != w.Subject || *g.From != *w.From || *g.To != *w.To {
		t.Errorf("headers differ:\n got %q %v %v\nwant %q %v %v", g.Subject, g.From, g.To, w.Subject, w.From, w.To)
	}
	if !reflect.DeepEqual(g.Types, w.Types) {
		t.Errorf("types %v, want %v", g.Types, w.Types)
	}
	if g.Text != w.Text {
		t.Errorf("text differs:\n got %q\nwant %q", g.Text, w.Text)
	}
	if g.HTML != w.HTML {
		t.Errorf("html differs:\n got %q\nwant %q", g.HTML, w.HTML)
	}
	for _, k := range []string{"Date", "Message-ID", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "X-Herald-Run", "MIME-Version"} {
		if g.Header.Get(k) != w.Header.Get(k) {
			t.Errorf("%s = %q, want %q", k, g.Header.Get(k), w.Header.Get(k))
		}
	}
	if len(g.Header) != len(w.Header) {
		t.Errorf("%d header fields, want %d", len(g.Header), len(w.Header))
	}
}

func TestRenderGeneratesMessageIDs(t *testing.T) {
	m := digestMessage(100)
	m.MessageID = ""
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		raw, err := p.Render(nil, renderCases[0].values)
		if err != nil {
			t.Fatal(err)
		}
		id := mustParse(t, raw).Header.Get("Message-ID")
		if !strings.HasSuffix(id, "@news.example.org>") || seen[id] {
			t.Errorf("Message-ID %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestRenderRejects(t *testing.T) {
	p, err := Prepare(digestMessage(100))
	if err != nil {
		t.Fatal(err)
	}
	ok := renderCases[0].values
	with := func(k, v string) map[string]string {
		c := map[string]string{}
		for a, b := range ok {
			c[a] = b
		}
		if v == "\xff-delete" {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name   string
		values map[string]string
		target error
	}{
		{"ErrNameCRLF", with("name", "Eve\r\nBcc: victim@example.com"), ErrHeaderInjection},
		{"ErrNameLF", with("name", "Eve\nBcc: victim@example.com"), ErrHeaderInjection},
		{"ErrEmailCR", with("email", "a@b\rX: y"), ErrHeaderInjection},
		{"ErrUnsubNUL", with("unsub", "https://e.org/\x00"), ErrHeaderInjection},
		{"ErrMissing", with("rid", "\xff-delete"), ErrMissingValue},
		{"ErrEmailInvalid", with("email", "two words@example.com"), nil},
		{"ErrEmailWithName", with("email", "Eve <eve@example.com>"), nil},
		{"ErrUnsubHTTP", with("unsub", "http://e.org/u"), nil},
		{"ErrUnsubInjectBracket", with("unsub", "https://e.org/u>, <mailto:x@y"), nil},
		{"ErrMessageIDSpace", with("rid", "a b"), nil},
		{"ErrInvalidUTF8", with("name", "\xc3("), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Render(nil, tt.values)
			if err == nil {
				t.Fatal("Render accepted it")
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("err = %v, want %v", err, tt.target)
			}
		})
	}
}

func TestPrepareRejectsSlotInOtherHeaders(t *testing.T) {
	for _, mutate := range []func(*Message){
		func(m *Message) { m.Subject = "Hi " + Slot("name") },
		func(m *Message) { m.From.Name = Slot("name") },
		func(m *Message) { m.ReplyTo = &Address{Email: "r@example.org", Name: Slot("name")} },
		func(m *Message) { m.Headers = [][2]string{{"X-Rcpt", Slot("email")}} },
		func(m *Message) { m.ListID = Slot("x") + " <l.example.org>" },
	} {
		m := digestMessage(100)
		mutate(m)
		if _, err := Prepare(m); err == nil {
			t.Errorf("Prepare accepted slot in %+v", m)
		}
	}
}

func TestSlotPanicsOnBadName(t *testing.T) {
	for _, name := range []string{"", "a b", "a~b", "ä", strings.Repeat("a", 65)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Slot(%q) did not panic", name)
				}
			}()
			Slot(name)
		}()
	}
}

func TestRenderConcurrent(t *testing.T) {
	p, err := Prepare(digestMessage(4 << 10))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			var buf []byte
			for _, tt := range renderCases {
				var err error
				if buf, err = p.Render(buf[:0], tt.values); err != nil {
					done <- err
					return
				}
				if _, err := parseMail(buf); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	m := digestMessage(24 << 10)
	p, err := Prepare(m)
	if err != nil {
		b.Fatal(err)
	}
	values := renderCases[1].values
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = p.Render(buf[:0], values); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkEncodeFromScratch(b *testing.B) {
	m := digestMessage(24 << 10)
	values := renderCases[1].values
	var n int
	b.ReportAllocs()
	for b.Loop() {
		raw, err := Encode(substitute(m, values))
		if err != nil {
			b.Fatal(err)
		}
		n = len(raw)
	}
	b.SetBytes(int64(n))
}
