package subscribe_test

import (
	"context"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/subscribe"
)

// FuzzCSVImport imports arbitrary CSV with --send-optin: no panic, every
// stored address validates, and nothing reaches a mail header with CR,
// LF or NUL.
func FuzzCSVImport(f *testing.F) {
	f.Add("email,name\na@example.org,Anna\n")
	f.Add("\ufeffname,email,newsletters,tags,status,subscribed_at\n\"B\r\nBcc: x@evil.example\",b@example.org,monthly;weekly,wp4,,2025-01-01T00:00:00Z\n")
	f.Add("email\n\"c@example.org\r\nBcc: x@evil.example\"\n")
	f.Add("email,status\nd@example.org,active\n\"unterminated\n")
	f.Add("email,email\nx@example.org,y@example.org\n")
	e := newEnv(f, "https://news.example.org")
	f.Fuzz(func(t *testing.T, in string) {
		before := len(e.mails.Mails())
		rep, err := e.svc.Import(context.Background(), strings.NewReader(in), subscribe.ImportOptions{SendOptin: true, Source: "fuzz.csv"})
		if err == nil && rep.Added+rep.Unchanged+len(rep.Errors) < rep.Added {
			t.Fatal("impossible report")
		}
		for _, m := range e.mails.Mails()[before:] {
			for _, v := range []string{m.To, m.ToName, m.Subject} {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("header value with CR/LF/NUL: %q", v)
				}
			}
			if _, err := subscribe.NormalizeEmail(m.To); err != nil {
				t.Fatalf("mail to %q", m.To)
			}
		}
	})
}
