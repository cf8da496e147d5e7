package mail

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func sampleMessage() *Message {
	return &Message{
		From:            Address{Name: "Cluster Bridge", Email: "news@news.example.org"},
		To:              Address{Name: "Åsa Öberg", Email: "asa@example.net"},
		Subject:         "Monthly digest – März",
		Text:            "Hello Åsa,\n\nThis month: three articles.\nUnsubscribe: https://news.example.org/unsubscribe?token=abc\n",
		HTML:            "<p>Hello Åsa,</p>\n<p>This month: <b>three</b> articles.</p>\n",
		ListID:          "Cluster Bridge Monthly <monthly.news.example.org>",
		ListUnsubscribe: "https://news.example.org/unsubscribe?token=abc",
		OneClick:        true,
		Headers:         [][2]string{{"X-Herald-Run", "42"}},
		Date:            time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
	}
}

func TestEncode(t *testing.T) {
	raw, err := Encode(sampleMessage())
	if err != nil {
		t.Fatal(err)
	}
	p := mustParse(t, raw)
	if p.From.Name != "Cluster Bridge" || p.From.Address != "news@news.example.org" {
		t.Errorf("From = %v", p.From)
	}
	if p.To.Name != "Åsa Öberg" || p.To.Address != "asa@example.net" {
		t.Errorf("To = %v", p.To)
	}
	if p.Subject != "Monthly digest – März" {
		t.Errorf("Subject = %q", p.Subject)
	}
	if got := strings.Join(p.Types, ","); got != "text/plain,text/html" {
		t.Errorf("parts = %s", got)
	}
	if !strings.Contains(p.Text, "Hello Åsa,\r\n\r\nThis month") {
		t.Errorf("text = %q", p.Text)
	}
	if !strings.HasSuffix(p.Header.Get("Message-ID"), "@news.example.org>") {
		t.Errorf("Message-ID = %q", p.Header.Get("Message-ID"))
	}
	for k, want := range map[string]string{
		"List-Id":               "Cluster Bridge Monthly <monthly.news.example.org>",
		"List-Unsubscribe":      "<https://news.example.org/unsubscribe?token=abc>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"X-Herald-Run":          "42",
		"Date":                  "Sun, 01 Mar 2026 09:00:00 +0000",
	} {
		if got := p.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if p.Header.Get("User-Agent") != "" || p.Header.Get("X-Mailer") != "" {
		t.Error("go-mail's default User-Agent leaked")
	}
}

func TestEncodeTextOnlyAndNoOneClick(t *testing.T) {
	m := sampleMessage()
	m.HTML = ""
	m.OneClick = false
	m.ListUnsubscribe = "http://localhost:8080/unsubscribe?token=x"
	raw, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	p := mustParse(t, raw)
	if len(p.Types) != 1 || p.Types[0] != "text/plain" {
		t.Errorf("types = %v", p.Types)
	}
	if p.Header.Get("List-Unsubscribe-Post") != "" {
		t.Error("List-Unsubscribe-Post without OneClick")
	}
	if p.Header.Get("List-Unsubscribe") != "<http://localhost:8080/unsubscribe?token=x>" {
		t.Errorf("List-Unsubscribe = %q", p.Header.Get("List-Unsubscribe"))
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Message)
		inject bool
	}{
		{"ErrSubjectCRLF", func(m *Message) { m.Subject = "Hi\r\nBcc: victim@example.com" }, true},
		{"ErrSubjectLF", func(m *Message) { m.Subject = "Hi\nX: y" }, true},
		{"ErrToNameCR", func(m *Message) { m.To.Name = "Eve\rBcc: x@example.com" }, true},
		{"ErrFromNameNUL", func(m *Message) { m.From.Name = "a\x00b" }, true},
		{"ErrListIDLF", func(m *Message) { m.ListID = "x\n<y>" }, true},
		{"ErrHeaderValueLF", func(m *Message) { m.Headers = [][2]string{{"X-Run", "1\nBcc: x@y"}} }, true},
		{"ErrHeaderNameColon", func(m *Message) { m.Headers = [][2]string{{"X:Run", "1"}} }, false},
		{"ErrReservedHeader", func(m *Message) { m.Headers = [][2]string{{"bcc", "x@example.com"}} }, false},
		{"ErrToEmail", func(m *Message) { m.To.Email = "not an address" }, false},
		{"ErrFromEmail", func(m *Message) { m.From.Email = "x@y>\r\nBcc: z@w" }, true},
		{"ErrOneClickHTTP", func(m *Message) { m.ListUnsubscribe = "http://example.org/u" }, false},
		{"ErrUnsubSpace", func(m *Message) { m.ListUnsubscribe = "https://example.org/u x" }, false},
		{"ErrMessageID", func(m *Message) { m.MessageID = "<a@b>" }, false},
		{"ErrSlotInSubject", func(m *Message) { m.Subject = Slot("x") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sampleMessage()
			tt.mutate(m)
			_, err := Encode(m)
			if err == nil {
				t.Fatal("Encode accepted it")
			}
			if tt.inject != errors.Is(err, ErrHeaderInjection) {
				t.Errorf("err = %v, ErrHeaderInjection %v", err, tt.inject)
			}
			if _, err := Prepare(m); err == nil {
				t.Error("Prepare accepted it")
			}
		})
	}
}
