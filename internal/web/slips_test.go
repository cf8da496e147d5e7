package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/subscribe/subscribetest"
)

// TestPageWording: headings and counts say what is so.
func TestPageWording(t *testing.T) {
	t.Run("OKConfirmAfterUnsubscribeSaysUnsubscribed", func(t *testing.T) {
		s := newSite(t, siteOpts{})
		s.postForm(t, "/subscribe", url.Values{"email": {"late@example.org"}})
		link, err := subscribetest.Link(s.mails.Wait(t, 1).Text, "/subscribe/confirm")
		if err != nil {
			t.Fatal(err)
		}
		confirm := url.Values{"token": {subscribetest.Token(link)}}
		if _, body := s.postForm(t, "/subscribe/confirm", confirm); !strings.Contains(body, `<h1 id="notice-title">Subscribed</h1>`) {
			t.Fatalf("confirm:\n%s", body)
		}
		sub, _ := s.st.SubscriberByEmail(t.Context(), "late@example.org")
		unsub := localPath(t, s.svc.Tokens().UnsubscribeURL(s.srv.URL, sub.ID, sub.LinkSecret, "monthly"))
		if resp, body := s.postForm(t, unsub, url.Values{"scope": {"all"}}); resp.StatusCode != 200 || !strings.Contains(body, `<h1 id="notice-title">Unsubscribed</h1>`) {
			t.Fatalf("unsubscribe: %d\n%s", resp.StatusCode, body)
		}
		// The confirmation link, followed again after unsubscribing.
		_, body := s.postForm(t, "/subscribe/confirm", confirm)
		if !strings.Contains(body, "you have unsubscribed since") || !strings.Contains(body, `<h1 id="notice-title">Unsubscribed</h1>`) || strings.Contains(body, ">Subscribed<") {
			t.Errorf("confirm after unsubscribing:\n%s", body)
		}
	})
	t.Run("OKTagCountSingular", func(t *testing.T) {
		f := newFixture(t)
		_, body := f.get(t, "/")
		for _, want := range []string{
			`WP2 <span class="visually-hidden">(</span>1<span class="visually-hidden"> article)</span>`,
			`archive <span class="visually-hidden">(</span>25<span class="visually-hidden"> articles)</span>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("no %q in the tag list", want)
			}
		}
		if strings.Contains(body, ">1<span class=\"visually-hidden\"> articles") {
			t.Error(`"1 articles"`)
		}
	})
}
