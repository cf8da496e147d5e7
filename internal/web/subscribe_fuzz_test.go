package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/subscribe"
)

// headerSafe: nothing that reaches a mail header may hold CR, LF or NUL.
func headerSafe(t *testing.T, m *subscribe.Mail) {
	t.Helper()
	for _, v := range []string{m.To, m.ToName, m.Subject, m.ListID, m.ListUnsubscribe} {
		if strings.ContainsAny(v, "\r\n\x00") {
			t.Fatalf("header value with CR/LF/NUL: %q", v)
		}
	}
	if _, err := subscribe.NormalizeEmail(m.To); err != nil {
		t.Fatalf("mail to an address that does not validate: %q", m.To)
	}
}

// FuzzSubscribe posts arbitrary form and JSON bodies to /subscribe.
func FuzzSubscribe(f *testing.F) {
	f.Add("email=a%40example.org&name=Anna", false)
	f.Add("email=a%40example.org%0D%0ABcc%3A+x%40evil.example&name=x", false)
	f.Add("email=b%40example.org&name=Bo%0ABcc%3A+x%40evil.example", false)
	f.Add(`{"email":"c@example.org","name":"C\r\nBcc: x@evil.example","newsletters":["monthly"],"tags":["wp4"]}`, true)
	f.Add(`{"email":"d@xn--bcher-kva.example","name":"Ünïcödé \u2028"}`, true)
	f.Add(`{"email":["x"]}`, true)
	s := newSite(f, siteOpts{})
	h := s.srv.Config.Handler
	f.Fuzz(func(t *testing.T, body string, isJSON bool) {
		before := len(s.mails.Mails())
		req := httptest.NewRequest("POST", "/subscribe", strings.NewReader(body))
		if isJSON {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		for _, m := range s.mails.Mails()[before:] {
			headerSafe(t, m)
		}
	})
}
