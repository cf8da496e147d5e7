package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time                       { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration)                  { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

type site struct {
	srv    *httptest.Server
	st     *sqlite.Store
	svc    *subscribe.Service
	mails  *subscribetest.Mailer
	clock  *clock
	client *http.Client
}

type siteOpts struct {
	base      string
	rate      int
	keys      [][]byte
	origins   []string
	trusted   []netip.Prefix
	newsletts []subscribe.Newsletter
	path      string // the store file; "" for a fresh one
	archive   bool   // serve /newsletters from the store
}

func newSite(t testing.TB, o siteOpts) *site {
	t.Helper()
	if o.base == "" {
		o.base = "https://news.example.org"
	}
	if o.keys == nil {
		o.keys = [][]byte{[]byte("test-key-0123456789abcdef")}
	}
	if o.origins == nil {
		o.origins = []string{"https://partner.example"}
	}
	if o.newsletts == nil {
		o.newsletts = []subscribe.Newsletter{{ID: "monthly", Title: "Cluster Bridge Monthly", Default: true}, {ID: "weekly", Title: "Weekly", Tags: []string{"wp4"}}}
	}
	ctx := context.Background()
	if o.path == "" {
		o.path = filepath.Join(t.TempDir(), "h.db")
	}
	st, err := sqlite.Open(ctx, o.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &site{st: st, mails: subscribetest.NewMailer(), clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	s.svc, err = subscribe.New(subscribe.Config{
		BaseURL: o.base, SiteTitle: "Herald News", Newsletters: o.newsletts,
		ConfirmTTL: 7 * 24 * time.Hour, ResendInterval: time.Hour, StoreIP: true, ConsentText: "I agree to receive mail.", Welcome: true,
		Templates: templates.Embedded(), Tokens: subscribe.NewTokens(o.keys), Store: st, Mailer: s.mails, Now: s.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := web.Config{
		Site:      web.Site{Title: "Herald News", BaseURL: o.base, Language: "en"},
		Store:     st,
		Templates: templates.Embedded(),
		Now:       s.clock.Now,
		Subscribe: &web.SubscribeConfig{Service: s.svc, RatePerMinute: o.rate, AllowedOrigins: o.origins}, TrustedProxies: o.trusted,
	}
	if o.archive {
		cfg.Archive, cfg.NewsletterTitles = st, map[string]string{}
		for _, n := range o.newsletts {
			cfg.NewsletterTitles[n.ID] = n.Title
		}
	}
	h, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(h)
	t.Cleanup(s.srv.Close)
	s.client = &http.Client{CheckRedirect: noRedirect, Timeout: 10 * time.Second}
	return s
}

func (s *site) do(t testing.TB, method, path string, body io.Reader, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (s *site) postForm(t testing.TB, path string, v url.Values, hdr ...string) (*http.Response, string) {
	return s.do(t, "POST", path, strings.NewReader(v.Encode()), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hdr...)...)
}

// localPath turns a link from a mail into a path on the test server.
func localPath(t testing.TB, link string) string {
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

func (s *site) subscribeAndConfirm(t *testing.T, email string) *subscribe.Subscriber {
	t.Helper()
	n := len(s.mails.Mails())
	if resp, body := s.postForm(t, "/subscribe", url.Values{"email": {email}, "name": {"Test Person"}}); resp.StatusCode != 200 {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}
	link, err := subscribetest.Link(s.mails.Wait(t, n+1).Text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := s.postForm(t, "/subscribe/confirm", url.Values{"token": {subscribetest.Token(link)}}); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d %s", resp.StatusCode, body)
	}
	sub, err := s.st.SubscriberByEmail(context.Background(), email)
	if err != nil || sub.Status != subscribe.StatusActive {
		t.Fatalf("not active: %+v %v", sub, err)
	}
	return sub
}

func TestSubscribePages(t *testing.T) {
	s := newSite(t, siteOpts{})
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		resp, body := s.do(t, "GET", "/", nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `action="/subscribe"`) || !strings.Contains(body, "I agree to receive mail.") ||
			!strings.Contains(body, `name="website"`) || !strings.Contains(body, `value="weekly"`) {
			t.Fatalf("index form: %d\n%s", resp.StatusCode, body)
		}
		resp, body = s.do(t, "GET", "/subscribe", nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `type="checkbox" name="newsletter" value="monthly" checked`) {
			t.Fatalf("subscribe page: %d\n%s", resp.StatusCode, body)
		}
		resp, body = s.postForm(t, "/subscribe", url.Values{"email": {"form@example.org"}, "newsletter": {"weekly"}},
			"Referer", "https://news.example.org/")
		if resp.StatusCode != 200 || !strings.Contains(body, "Check your inbox") {
			t.Fatalf("post: %d\n%s", resp.StatusCode, body)
		}
		m := s.mails.Wait(t, 1)
		sub, _ := s.st.SubscriberByEmail(ctx, "form@example.org")
		if m.To != "form@example.org" || sub.Status != subscribe.StatusPending || strings.Join(sub.Newsletters, ",") != "weekly" ||
			sub.Consent.Source != "https://news.example.org/" || sub.Consent.IP != "127.0.0.1" || sub.Consent.Text != "I agree to receive mail." {
			t.Fatalf("stored: %+v", sub)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		resp, body := s.do(t, "POST", "/subscribe", strings.NewReader(`{"email":"json@example.org","name":"J","tags":["WP4"]}`),
			"Content-Type", "application/json", "Origin", "https://partner.example")
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://partner.example" {
			t.Fatalf("json: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil || got["status"] != "ok" {
			t.Fatalf("json body %q: %v", body, err)
		}
		sub, err := s.st.SubscriberByEmail(ctx, "json@example.org")
		if err != nil || strings.Join(sub.Tags, ",") != "wp4" || sub.Consent.Source != "https://partner.example" {
			t.Fatalf("stored: %+v %v", sub, err)
		}
	})
	t.Run("CrossOrigin", func(t *testing.T) {
		resp, _ := s.do(t, "OPTIONS", "/subscribe", nil, "Origin", "https://partner.example", "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type")
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://partner.example" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
		resp, _ = s.do(t, "OPTIONS", "/subscribe", nil, "Origin", "https://evil.example")
		if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight from a stranger: %d %v", resp.StatusCode, resp.Header)
		}
		// A partner's plain HTML form posts cross-origin and gets the page.
		resp, body := s.postForm(t, "/subscribe", url.Values{"email": {"partner-form@example.org"}}, "Origin", "https://partner.example",
			"Referer", "https://partner.example/news")
		if resp.StatusCode != 200 || !strings.Contains(body, "Check your inbox") {
			t.Fatalf("cross-origin form: %d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("Honeypot", func(t *testing.T) {
		n := len(s.mails.Mails())
		resp, body := s.postForm(t, "/subscribe", url.Values{"email": {"bot@example.org"}, "website": {"https://spam.example"}})
		if resp.StatusCode != 200 || !strings.Contains(body, "Check your inbox") {
			t.Fatalf("honeypot: %d", resp.StatusCode)
		}
		if _, err := s.st.SubscriberByEmail(ctx, "bot@example.org"); err == nil || len(s.mails.Mails()) != n {
			t.Fatal("honeypot request stored or mailed")
		}
	})
	t.Run("ErrInvalidEmail", func(t *testing.T) {
		resp, body := s.postForm(t, "/subscribe", url.Values{"email": {"a@b\r\nBcc: x@evil.example"}})
		if resp.StatusCode != 400 || !strings.Contains(body, `id="subscribe-error"`) {
			t.Fatalf("form: %d\n%s", resp.StatusCode, body)
		}
		resp, body = s.do(t, "POST", "/subscribe", strings.NewReader(`{"email":"nope"}`), "Content-Type", "application/json")
		var got struct {
			Error  string
			Status int
		}
		if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &got) != nil || got.Status != 400 || !strings.Contains(got.Error, "email") {
			t.Fatalf("json: %d %s", resp.StatusCode, body)
		}
		resp, _ = s.do(t, "POST", "/subscribe", strings.NewReader(`{"email":`), "Content-Type", "application/json")
		if resp.StatusCode != 400 {
			t.Fatalf("bad json: %d", resp.StatusCode)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		resp, _ := s.postForm(t, "/subscribe", url.Values{"email": {"big@example.org"}, "name": {strings.Repeat("x", 20000)}})
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
	t.Run("NoEnumeration", func(t *testing.T) {
		s.subscribeAndConfirm(t, "active@example.org")
		unsub := s.subscribeAndConfirm(t, "gone@example.org")
		if _, err := s.st.Unsubscribe(ctx, unsub.ID, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		s.postForm(t, "/subscribe", url.Values{"email": {"pending@example.org"}})
		s.clock.Add(30 * time.Minute)
		n := len(s.mails.Mails())
		var first string
		for _, email := range []string{"fresh@example.org", "pending@example.org", "active@example.org", "gone@example.org"} {
			resp, body := s.postForm(t, "/subscribe", url.Values{"email": {email}})
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", email, resp.StatusCode)
			}
			if first == "" {
				first = body
			} else if body != first {
				t.Errorf("answer for %s differs from a new address's", email)
			}
		}
		// Only the fresh address gets mail: pending and gone (re-subscribing
		// needs opt-in) were mailed within resend_interval, active never is.
		if got := len(s.mails.Mails()) - n; got != 1 {
			t.Errorf("mails sent: %d, want 1", got)
		}
		s.clock.Add(time.Hour)
		for _, email := range []string{"pending@example.org", "active@example.org", "gone@example.org"} {
			if _, body := s.postForm(t, "/subscribe", url.Values{"email": {email}}); body != first {
				t.Errorf("answer for %s differs", email)
			}
		}
		if got := len(s.mails.Mails()) - n; got != 3 {
			t.Errorf("mails sent after resend_interval: %d, want 3", got)
		}
	})
}

func TestSubscribeRateLimit(t *testing.T) {
	s := newSite(t, siteOpts{rate: 3, trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	post := func(xff string) int {
		resp, _ := s.postForm(t, "/subscribe", url.Values{"email": {"rl@example.org"}}, "X-Forwarded-For", xff)
		return resp.StatusCode
	}
	for i := 0; i < 3; i++ {
		if c := post("198.51.100.1"); c != 200 {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	if c := post("198.51.100.1"); c != http.StatusTooManyRequests {
		t.Fatalf("4th: %d", c)
	}
	// Behind the trusted proxy, another client has its own budget; a
	// client cannot escape by prepending addresses of its own.
	if c := post("198.51.100.2"); c != 200 {
		t.Fatalf("other client: %d", c)
	}
	if c := post("203.0.113.9, 198.51.100.1"); c != http.StatusTooManyRequests {
		t.Fatalf("spoofed hop: %d", c)
	}
	resp, body := s.do(t, "POST", "/subscribe", strings.NewReader(`{"email":"rl@example.org"}`), "Content-Type", "application/json", "X-Forwarded-For", "198.51.100.1")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"status":429`) {
		t.Fatalf("json 429: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	// Without a trusted proxy, X-Forwarded-For is ignored.
	s2 := newSite(t, siteOpts{rate: 1})
	s2.postForm(t, "/subscribe", url.Values{"email": {"a@example.org"}}, "X-Forwarded-For", "198.51.100.1")
	resp, _ = s2.postForm(t, "/subscribe", url.Values{"email": {"a@example.org"}}, "X-Forwarded-For", "198.51.100.2")
	if resp.StatusCode != 429 {
		t.Fatalf("untrusted X-Forwarded-For counted: %d", resp.StatusCode)
	}
}

func TestConfirmPages(t *testing.T) {
	s := newSite(t, siteOpts{})
	ctx := context.Background()
	s.postForm(t, "/subscribe", url.Values{"email": {"c@example.org"}})
	link, err := subscribetest.Link(s.mails.Wait(t, 1).Text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("GetChangesNothing", func(t *testing.T) {
		resp, body := s.do(t, "GET", localPath(t, link), nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `<form method="post" action="/subscribe/confirm">`) || !strings.Contains(body, `id="confirm-button"`) {
			t.Fatalf("page: %d\n%s", resp.StatusCode, body)
		}
		if sub, _ := s.st.SubscriberByEmail(ctx, "c@example.org"); sub.Status != subscribe.StatusPending {
			t.Fatal("GET confirmed")
		}
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		tok := subscribetest.Token(link)
		bad := tok[:len(tok)-2] + "AA"
		if bad == tok {
			bad = tok[:len(tok)-2] + "BB"
		}
		for _, p := range []string{"/subscribe/confirm?token=" + bad, "/subscribe/confirm", "/subscribe/confirm?token=" + tok[:10]} {
			if resp, _ := s.do(t, "GET", p, nil); resp.StatusCode != 400 {
				t.Errorf("%s: %d", p, resp.StatusCode)
			}
		}
		if resp, _ := s.postForm(t, "/subscribe/confirm", url.Values{"token": {bad}}); resp.StatusCode != 400 {
			t.Errorf("POST tampered: %d", resp.StatusCode)
		}
	})
	t.Run("OK", func(t *testing.T) {
		resp, body := s.postForm(t, "/subscribe/confirm", url.Values{"token": {subscribetest.Token(link)}})
		if resp.StatusCode != 200 || !strings.Contains(body, "confirmed") {
			t.Fatalf("confirm: %d\n%s", resp.StatusCode, body)
		}
		if sub, _ := s.st.SubscriberByEmail(ctx, "c@example.org"); sub.Status != subscribe.StatusActive {
			t.Fatal("not active")
		}
		if w := s.mails.Wait(t, 2); w.Kind != "welcome" {
			t.Fatalf("welcome: %+v", w)
		}
	})
	t.Run("ErrExpiredToken", func(t *testing.T) {
		s.postForm(t, "/subscribe", url.Values{"email": {"slow@example.org"}})
		link, _ := subscribetest.Link(s.mails.Wait(t, 3).Text, "/subscribe/confirm")
		s.clock.Add(8 * 24 * time.Hour)
		resp, body := s.do(t, "GET", localPath(t, link), nil)
		if resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired") {
			t.Fatalf("expired: %d\n%s", resp.StatusCode, body)
		}
	})
}

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := []byte("old-key-0123456789abcdef"), []byte("new-key-0123456789abcdef")
	s := newSite(t, siteOpts{keys: [][]byte{newKey, oldKey}})
	sub, _, err := s.svc.Add(context.Background(), "rot@example.org", "", nil, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	old := subscribe.NewTokens([][]byte{oldKey})
	resp, _ := s.postForm(t, localPath(t, old.UnsubscribeURL(s.srv.URL, sub.ID, sub.LinkSecret, "monthly")), url.Values{"List-Unsubscribe": {"One-Click"}})
	if resp.StatusCode != 200 {
		t.Fatalf("old-key link: %d", resp.StatusCode)
	}
	stranger := subscribe.NewTokens([][]byte{[]byte("another-site-key-0123456")})
	resp, _ = s.postForm(t, localPath(t, stranger.UnsubscribeURL(s.srv.URL, sub.ID, sub.LinkSecret, "monthly")), url.Values{"List-Unsubscribe": {"One-Click"}})
	if resp.StatusCode != 400 {
		t.Fatalf("foreign-key link: %d", resp.StatusCode)
	}
}

func TestUnsubscribe(t *testing.T) {
	s := newSite(t, siteOpts{})
	ctx := context.Background()
	tok := s.svc.Tokens()

	t.Run("OneClickURLEncoded", func(t *testing.T) {
		sub, _, _ := s.svc.Add(ctx, "oc1@example.org", "", []string{"monthly", "weekly"}, nil, true)
		resp, body := s.postForm(t, localPath(t, tok.UnsubscribeURL(s.srv.URL, sub.ID, sub.LinkSecret, "monthly")), url.Values{"List-Unsubscribe": {"One-Click"}})
		if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || len(resp.Cookies()) != 0 {
			t.Fatalf("one-click: %d %v\n%s", resp.StatusCode, resp.Header, body)
		}
		got, _ := s.st.GetSubscriber(ctx, sub.ID)
		if got.Status != subscribe.StatusActive || strings.Join(got.Newsletters, ",") != "weekly" {
			t.Fatalf("after monthly: %+v", got)
		}
		s.postForm(t, localPath(t, tok.UnsubscribeURL(s.srv.URL, sub.ID, sub.LinkSecret, "weekly")), url.Values{"List-Unsubscribe": {"One-Click"}})
		if got, _ = s.st.GetSubscriber(ctx, sub.ID); got.Status != subscribe.StatusUnsubscribed {
			t.Fatalf("no newsletter left: %+v", got)
		}
	})
	t.Run("OneClickMultipart", func(t *testing.T) {
		sub, _, _ := s.svc.Add(ctx, "oc2@example.org", "", nil, nil, true)
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("List-Unsubscribe", "One-Click")
		mw.Close()
		resp, _ := s.do(t, "POST", localPath(t, tok.UnsubscribeURL(s.srv.URL, sub.ID, sub.LinkSecret, "monthly")), &b, "Content-Type", mw.FormDataContentType())
		if resp.StatusCode != 200 || resp.Header.Get("Location") != "" {
			t.Fatalf("multipart one-click: %d", resp.StatusCode)
		}
		if got, _ := s.st.GetSubscriber(ctx, sub.ID); got.Status != subscribe.StatusUnsubscribed {
			t.Fatalf("after: %+v", got)
		}
	})
	t.Run("Page", func(t *testing.T) {
		sub, _, _ := s.svc.Add(ctx, "page@example.org", "", []string{"monthly", "weekly"}, nil, true)
		p := localPath(t, tok.UnsubscribeURL(s.srv.URL, sub.ID, sub.LinkSecret, "monthly"))
		resp, body := s.do(t, "GET", p, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `id="unsubscribe-newsletter"`) || !strings.Contains(body, `id="unsubscribe-all"`) ||
			!strings.Contains(body, "/preferences?token=") || !strings.Contains(body, "Cluster Bridge Monthly") {
			t.Fatalf("page: %d\n%s", resp.StatusCode, body)
		}
		if got, _ := s.st.GetSubscriber(ctx, sub.ID); len(got.Newsletters) != 2 {
			t.Fatal("GET changed something")
		}
		resp, _ = s.postForm(t, p, url.Values{"scope": {"all"}})
		if got, _ := s.st.GetSubscriber(ctx, sub.ID); resp.StatusCode != 200 || got.Status != subscribe.StatusUnsubscribed {
			t.Fatalf("everything: %d %+v", resp.StatusCode, got)
		}
	})
	t.Run("ErrInvalidToken", func(t *testing.T) {
		resp, _ := s.postForm(t, "/unsubscribe?token=AAAA", url.Values{"List-Unsubscribe": {"One-Click"}})
		if resp.StatusCode != 400 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
}

func TestPreferencesPage(t *testing.T) {
	s := newSite(t, siteOpts{})
	ctx := context.Background()
	sub, _, _ := s.svc.Add(ctx, "pref@example.org", "Pref", nil, nil, true)
	p := localPath(t, s.svc.PreferencesURL(sub))
	resp, body := s.do(t, "GET", p, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `value="Pref"`) || !strings.Contains(body, `value="monthly" checked`) {
		t.Fatalf("page: %d\n%s", resp.StatusCode, body)
	}
	resp, body = s.postForm(t, p, url.Values{"name": {"Pref Two"}, "newsletter": {"weekly"}, "tag": {"wp4"}, "action": {"save"}})
	got, _ := s.st.GetSubscriber(ctx, sub.ID)
	if resp.StatusCode != 200 || !strings.Contains(body, "Saved.") || got.Name != "Pref Two" || strings.Join(got.Newsletters, ",") != "weekly" ||
		strings.Join(got.Tags, ",") != "wp4" {
		t.Fatalf("save: %d %+v\n%s", resp.StatusCode, got, body)
	}
	s.postForm(t, p, url.Values{"action": {"unsubscribe"}, "newsletter": {"weekly"}})
	if got, _ = s.st.GetSubscriber(ctx, sub.ID); got.Status != subscribe.StatusUnsubscribed {
		t.Fatalf("unsubscribe: %+v", got)
	}
	// Re-subscribing from the page needs opt-in again.
	resp, body = s.postForm(t, p, url.Values{"newsletter": {"monthly"}, "action": {"save"}})
	if got, _ = s.st.GetSubscriber(ctx, sub.ID); resp.StatusCode != 200 || !strings.Contains(body, "Check your inbox") || got.Status != subscribe.StatusUnsubscribed {
		t.Fatalf("resubscribe: %d %+v", resp.StatusCode, got)
	}
	if m := s.mails.Wait(t, 1); m.Kind != "confirm" {
		t.Fatalf("mail: %+v", m)
	}
}

// TestSubscribeRateLimitIPv6: an IPv6 client is one client per /64, so
// walking through the addresses of its prefix earns no extra requests.
func TestSubscribeRateLimitIPv6(t *testing.T) {
	s := newSite(t, siteOpts{rate: 3, trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}})
	post := func(xff string) int {
		resp, _ := s.postForm(t, "/subscribe", url.Values{"email": {"rl6@example.org"}}, "X-Forwarded-For", xff)
		return resp.StatusCode
	}
	for i := 1; i <= 3; i++ {
		if c := post(fmt.Sprintf("2001:db8:1:2::%x", i)); c != 200 {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	if c := post("2001:db8:1:2:ffff:ffff:ffff:fffe"); c != http.StatusTooManyRequests {
		t.Fatalf("another address of the same /64: %d, want 429", c)
	}
	if c := post("2001:db8:1:3::1"); c != 200 {
		t.Fatalf("the next /64: %d, want 200", c)
	}
}
