package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/subscribe/subscribetest"
)

// TestLinkPagesSpeakStoredLanguage: the pages a mailed link opens speak
// the language chosen at subscribe, whatever the browser that opens them
// asks for (a Swedish reader's link opened on a German work machine); a
// link that names nobody falls back to the browser's language.
func TestLinkPagesSpeakStoredLanguage(t *testing.T) {
	s := newSite(t, siteOpts{})
	// No chooser on the form: the browser's Swedish is what is stored.
	if resp, body := s.postForm(t, "/subscribe", url.Values{"email": {"sv@example.org"}}, "Accept-Language", "sv"); resp.StatusCode != 200 {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}
	link, err := subscribetest.Link(s.mails.Wait(t, 1).Text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	de := []string{"Accept-Language", "de-DE,de;q=0.9"}
	t.Run("ConfirmPage", func(t *testing.T) {
		_, body := s.do(t, "GET", localPath(t, link), nil, de...)
		for _, want := range []string{`<html lang="sv">`, "Bekräfta din prenumeration", "Bekräfta min prenumeration"} {
			if !strings.Contains(body, want) {
				t.Fatalf("confirm page lacks %q:\n%s", want, body)
			}
		}
	})
	t.Run("ConfirmResult", func(t *testing.T) {
		_, body := s.postForm(t, "/subscribe/confirm", url.Values{"token": {subscribetest.Token(link)}}, de...)
		if !strings.Contains(body, "Tack: din prenumeration är bekräftad.") {
			t.Fatalf("confirmed page not Swedish:\n%s", body)
		}
	})
	w := s.mails.Wait(t, 2)
	t.Run("UnsubscribePage", func(t *testing.T) {
		_, body := s.do(t, "GET", localPath(t, w.ListUnsubscribe), nil, de...)
		if !strings.Contains(body, `<html lang="sv">`) || !strings.Contains(body, "Avregistrera dig") {
			t.Fatalf("unsubscribe page not Swedish:\n%s", body)
		}
		_, body = s.postForm(t, localPath(t, w.ListUnsubscribe), url.Values{"scope": {"all"}}, de...)
		if !strings.Contains(body, "Du är avregistrerad") {
			t.Fatalf("unsubscribed page not Swedish:\n%s", body)
		}
	})
	t.Run("ResubscribeInAnotherLanguage", func(t *testing.T) {
		// Asking again in Finnish: the link of that request leads to a
		// Finnish page while the stored language is still Swedish.
		s.clock.Add(61 * time.Minute) // past subscribe.resend_interval
		if resp, body := s.postForm(t, "/subscribe", url.Values{"email": {"sv@example.org"}, "language": {"fi"}}, de...); resp.StatusCode != 200 {
			t.Fatalf("subscribe again: %d %s", resp.StatusCode, body)
		}
		link, err := subscribetest.Link(s.mails.Wait(t, 3).Text, "/subscribe/confirm")
		if err != nil {
			t.Fatal(err)
		}
		if _, body := s.do(t, "GET", localPath(t, link), nil, de...); !strings.Contains(body, "Vahvista tilaukseni") {
			t.Fatalf("confirm page of the new request not Finnish:\n%s", body)
		}
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		resp, body := s.do(t, "GET", "/subscribe/confirm?token=nonsense", nil, de...)
		if resp.StatusCode != 400 || !strings.Contains(body, "Dieser Link ist ungültig.") {
			t.Fatalf("bad token: %d\n%s", resp.StatusCode, body)
		}
		resp, body = s.do(t, "GET", "/subscribe/confirm?token=nonsense", nil)
		if resp.StatusCode != 400 || !strings.Contains(body, `<html lang="en">`) {
			t.Fatalf("bad token, no Accept-Language: %d\n%s", resp.StatusCode, body)
		}
	})
}
