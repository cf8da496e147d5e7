package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// TestSubscribeCrossSite: with embed.allowed_origins not ["*"], a form on
// another site cannot make us mail confirmations (a form post needs no
// CORS). Before, every cross-site form post was accepted.
func TestSubscribeCrossSite(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		origins []string
		hdr     []string
		status  int
	}{
		{"ErrOtherOrigin", nil, []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403},
		{"ErrNullOrigin", nil, []string{"Origin", "null"}, 403},
		{"ErrCrossSiteNoOrigin", nil, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"OKListedOrigin", nil, []string{"Origin", "https://partner.example", "Sec-Fetch-Site", "cross-site"}, 200},
		{"OKOwnSite", nil, []string{"Origin", "https://news.example.org", "Sec-Fetch-Site", "same-origin"}, 200},
		{"OKSameOriginNoOrigin", nil, []string{"Sec-Fetch-Site", "same-origin"}, 200},
		{"OKNoHeaders", nil, nil, 200}, // curl, a server-side form
		{"OKAnyOrigin", []string{"*"}, []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, siteOpts{origins: tc.origins})
			resp, body := s.postForm(t, "/subscribe", url.Values{"email": {"victim@example.org"}}, tc.hdr...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d\n%s", resp.StatusCode, tc.status, body)
			}
			_, err := s.st.SubscriberByEmail(ctx, "victim@example.org")
			if tc.status == 403 && (err == nil || len(s.mails.Mails()) != 0) {
				t.Fatalf("refused post still stored (%v) or mailed (%d)", err, len(s.mails.Mails()))
			}
			if tc.status == 200 {
				if m := s.mails.Wait(t, 1); m.To != "victim@example.org" {
					t.Fatalf("mail %+v", m)
				}
			}
		})
	}
}

// TestSubscribeMailBombing: over real HTTP, variants of one mailbox get
// one confirmation mail per resend_interval, and a long name (a phishing
// text in a signed mail) is refused. Before, each variant got a mail and
// the name was printed in To: and the greeting.
func TestSubscribeMailBombing(t *testing.T) {
	s := newSite(t, siteOpts{})
	for _, a := range []string{"victim@gmail.com", "victim+1@gmail.com", "victim+2@gmail.com", "vic.tim@gmail.com", "VICTIM@googlemail.com"} {
		resp, body := s.postForm(t, "/subscribe", url.Values{"email": {a}, "name": {"Victim"}})
		if resp.StatusCode != 200 || !strings.Contains(body, "Check your inbox") {
			t.Fatalf("%s: %d (the answer must be the same as always)", a, resp.StatusCode)
		}
	}
	m := s.mails.Wait(t, 1)
	if n := len(s.mails.Mails()); n != 1 || m.To != "victim@gmail.com" || m.ToName != "" || strings.Contains(m.Text, "Victim") {
		t.Fatalf("%d mails; first %+v", n, m)
	}
	resp, _ := s.postForm(t, "/subscribe", url.Values{"email": {"other@example.org"}, "name": {strings.Repeat("Call +1 555 0100 now! ", 4)}})
	if resp.StatusCode != 400 {
		t.Fatalf("88-character name: %d, want 400", resp.StatusCode)
	}
}

// TestSubscribeUnknownTag: a tag no article and no newsletter has is
// refused with a message naming it (form and JSON), so a subscriber
// cannot end up with digests that are all skipped. Before, it was stored.
func TestSubscribeUnknownTag(t *testing.T) {
	s := newSite(t, siteOpts{})
	resp, body := s.postForm(t, "/subscribe", url.Values{"email": {"t@example.org"}, "tag": {"wp4", "ghost-topic"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "Unknown topic tag &#34;ghost-topic&#34;") || !strings.Contains(body, `id="subscribe-email"`) {
		t.Fatalf("form: %d\n%s", resp.StatusCode, body)
	}
	resp, body = s.do(t, "POST", "/subscribe", strings.NewReader(`{"email":"t@example.org","tags":["ghost-topic"]}`), "Content-Type", "application/json")
	if resp.StatusCode != 400 || !strings.Contains(body, `Unknown topic tag \"ghost-topic\"`) {
		t.Fatalf("JSON: %d %s", resp.StatusCode, body)
	}
	if _, err := s.st.SubscriberByEmail(context.Background(), "t@example.org"); err == nil || len(s.mails.Mails()) != 0 {
		t.Fatal("a request with an unknown tag was stored or mailed")
	}
	resp, _ = s.postForm(t, "/subscribe", url.Values{"email": {"t@example.org"}, "tag": {"WP4"}}) // a newsletter's tag
	if resp.StatusCode != 200 {
		t.Fatalf("known tag: %d", resp.StatusCode)
	}
}
