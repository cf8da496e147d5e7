package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/internal/mail/mailtest"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
)

// startSubsDaemon runs serve in-process with mail going to the outbox
// folder; base "" means http://ADDR of the daemon itself.
func startSubsDaemon(t *testing.T, base string, extra ...string) (*daemon, string) {
	t.Helper()
	env, dir := testEnv(t)
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env["HERALD_HTTP_LISTEN"] = addr
	if base == "" {
		base = "http://" + addr
	}
	env["HERALD_SITE_BASE_URL"] = base
	env["HERALD_CONTENT_WATCH"] = "false"
	cfg, err := LoadConfig("", env)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, dir
}

// parsedMail is one .eml from the outbox, parsed by net/mail and
// mime/multipart (which undoes quoted-printable).
type parsedMail struct {
	Header mail.Header
	Text   string
	HTML   string
}

func readOutbox(t *testing.T, dir string, n int) *parsedMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var files []string
	for {
		files, _ = filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
		if len(files) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(files) < n {
		t.Fatalf("outbox has %d mails, want %d", len(files), n)
	}
	sort.Strings(files)
	raw, err := os.ReadFile(files[n-1])
	if err != nil {
		t.Fatal(err)
	}
	return parseMail(t, raw)
}

func parseMail(t *testing.T, raw []byte) *parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	pm := &parsedMail{Header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			pm.Text = string(b)
		case "text/html":
			pm.HTML = string(b)
		}
	}
	return pm
}

func pathOf(t *testing.T, link string) string {
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// TestSubscriberMail sends the confirmation and welcome mail over SMTP to
// an in-process server (mailtest) and parses them with net/mail and
// mime/multipart.
func TestSubscriberMail(t *testing.T) {
	smtpd := mailtest.NewServer(t, mailtest.Options{})
	d, _ := startSubsDaemon(t, "https://news.example.org", "HERALD_MAIL_TRANSPORT", "smtp", "HERALD_MAIL_SMTP_HOST", smtpd.Host,
		"HERALD_MAIL_SMTP_PORT", strconv.Itoa(smtpd.Port), "HERALD_MAIL_SMTP_TLS", "none", "HERALD_MAIL_RETURN_PATH", "bounces@example.org")
	received := func(n int) *parsedMail {
		t.Helper()
		msgs := smtpd.WaitMessages(n, 10*time.Second)
		if len(msgs) < n {
			t.Fatalf("SMTP server got %d messages, want %d", len(msgs), n)
		}
		m := msgs[n-1]
		if m.From != "bounces@example.org" || len(m.To) != 1 || m.To[0] != "asa@example.org" {
			t.Fatalf("envelope %q → %q", m.From, m.To)
		}
		return parseMail(t, m.Data)
	}
	srv := "http://" + d.Addr()
	name := `Åsa "Q" Lindqvist`
	resp, err := http.PostForm(srv+"/subscribe", url.Values{"email": {"asa@Example.org"}, "name": {name}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("subscribe: %v %v", resp, err)
	}
	resp.Body.Close()
	// Header injection through the form never gets as far as a mail.
	resp, _ = http.PostForm(srv+"/subscribe", url.Values{"email": {"x@example.org"}, "name": {"X\r\nBcc: victim@example.org"}})
	if resp.StatusCode != 400 {
		t.Fatalf("injection: %d", resp.StatusCode)
	}
	resp.Body.Close()

	c := received(1)
	to, err := c.Header.AddressList("To")
	// The typed name is not in the confirmation mail (anyone can type
	// it); it is used once the address has confirmed (the welcome).
	if err != nil || len(to) != 1 || to[0].Name != "" || to[0].Address != "asa@example.org" || strings.Contains(c.Text+c.HTML, "Lindqvist") {
		t.Fatalf("To %q: %v %v", c.Header.Get("To"), to, err)
	}
	from, err := c.Header.AddressList("From")
	if err != nil || from[0].Address != "news@example.org" {
		t.Fatalf("From: %v %v", from, err)
	}
	if _, err := c.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if id := c.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.Contains(id, "@") {
		t.Errorf("Message-ID %q", id)
	}
	if c.Header.Get("List-Unsubscribe") != "" || c.Header.Get("Bcc") != "" {
		t.Errorf("confirmation mail headers: %v", c.Header)
	}
	link, err := subscribetest.Link(c.Text, "/subscribe/confirm")
	if err != nil || !strings.HasPrefix(link, "https://news.example.org/subscribe/confirm?token=") || !strings.Contains(c.HTML, "Confirm my subscription") {
		t.Fatalf("confirm link %q %v\n%s", link, err, c.Text)
	}
	resp, err = http.PostForm(srv+"/subscribe/confirm", url.Values{"token": {subscribetest.Token(link)}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("confirm: %v %v", resp, err)
	}
	resp.Body.Close()

	w := received(2)
	if to, err := w.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Name != name {
		t.Fatalf("welcome To %q: %v %v", w.Header.Get("To"), to, err)
	}
	lu := w.Header.Get("List-Unsubscribe")
	if !strings.HasPrefix(lu, "<https://news.example.org/unsubscribe?token=") || !strings.HasSuffix(lu, ">") ||
		w.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" ||
		w.Header.Get("List-Id") != `"Cluster Bridge Monthly" <monthly.news.example.org>` {
		t.Fatalf("welcome headers: %v", w.Header)
	}
	// One click as a mail client sends it: POST, no cookies, 200, no redirect.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = client.Post(srv+pathOf(t, strings.Trim(lu, "<>")), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("one-click: %v %v", resp, err)
	}
	resp.Body.Close()
	sub, err := d.store.SubscriberByEmail(context.Background(), "asa@example.org")
	if err != nil || sub.Status != subscribe.StatusUnsubscribed {
		t.Fatalf("after one-click: %+v %v", sub, err)
	}
}

func TestSubscribeInBrowser(t *testing.T) {
	ctx := browsertest.New(t, browsertest.Options{})
	d, dir := startSubsDaemon(t, "")
	base := "http://" + d.Addr()
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.SendKeys(chromedp.CSS("#subscribe-email"), "browser@example.org"),
		chromedp.SendKeys(chromedp.CSS("#subscribe-name"), "Bo Browser"),
		chromedp.Click(chromedp.CSS(`#subscribe-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#notice-title")),
	); err != nil {
		t.Fatal(err)
	}
	if got := text("#notice-title"); got != "Check your inbox" {
		t.Fatalf("after submit: %q", got)
	}
	c := readOutbox(t, dir, 1)
	link, err := subscribetest.Link(c.Text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#confirm-button"))); err != nil {
		t.Fatal(err)
	}
	st := d.store
	if sub, _ := st.SubscriberByEmail(context.Background(), "browser@example.org"); sub.Status != subscribe.StatusPending {
		t.Fatal("opening the link confirmed without the button")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm-button")), chromedp.WaitVisible(chromedp.CSS("#notice-title"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#notice-title"); got != "Subscribed" {
		t.Fatalf("after confirm: %q", got)
	}
	if sub, _ := st.SubscriberByEmail(context.Background(), "browser@example.org"); sub.Status != subscribe.StatusActive {
		t.Fatalf("not active: %+v", sub)
	}
	w := readOutbox(t, dir, 2)
	lu := strings.Trim(w.Header.Get("List-Unsubscribe"), "<>")
	if lu == "" || w.Header.Get("List-Unsubscribe-Post") != "" {
		t.Fatalf("http base_url: want List-Unsubscribe without -Post: %v", w.Header)
	}
	// Unsubscribe from the page.
	if err := chromedp.Do(ctx, chromedp.Navigate(lu), chromedp.WaitVisible(chromedp.CSS("#unsubscribe-all")),
		chromedp.Click(chromedp.CSS("#unsubscribe-all")), chromedp.WaitVisible(chromedp.CSS("#notice-title"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#notice-title"); got != "Unsubscribed" {
		t.Fatalf("after unsubscribe: %q", got)
	}
	if sub, _ := st.SubscriberByEmail(context.Background(), "browser@example.org"); sub.Status != subscribe.StatusUnsubscribed {
		t.Fatalf("not unsubscribed: %+v", sub)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err == nil {
		browsertest.Artifact(t, "subscribe-unsubscribed.jpg", shot)
	}
	// And with one click, as a mail client does, for a second subscriber.
	resp, err := http.PostForm(base+"/subscribe", url.Values{"email": {"oneclick@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	link, _ = subscribetest.Link(readOutbox(t, dir, 3).Text, "/subscribe/confirm")
	resp, _ = http.PostForm(base+"/subscribe/confirm", url.Values{"token": {subscribetest.Token(link)}})
	resp.Body.Close()
	lu = strings.Trim(readOutbox(t, dir, 4).Header.Get("List-Unsubscribe"), "<>")
	resp, err = http.Post(lu, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || resp.StatusCode != 200 || resp.Request.URL.String() != lu {
		t.Fatalf("one-click: %v %v", resp, err)
	}
	resp.Body.Close()
	if sub, _ := st.SubscriberByEmail(context.Background(), "oneclick@example.org"); sub.Status != subscribe.StatusUnsubscribed {
		t.Fatalf("one-click did not unsubscribe: %+v", sub)
	}

}

// TestSubscribeSwedish: a browser asking for Swedish gets the Swedish
// form, and the confirmation comes over SMTP in Swedish.
func TestSubscribeSwedish(t *testing.T) {
	smtpd := mailtest.NewServer(t, mailtest.Options{})
	d, _ := startSubsDaemon(t, "https://news.example.org", "HERALD_MAIL_TRANSPORT", "smtp", "HERALD_MAIL_SMTP_HOST", smtpd.Host,
		"HERALD_MAIL_SMTP_PORT", strconv.Itoa(smtpd.Port), "HERALD_MAIL_SMTP_TLS", "none")
	srv := "http://" + d.Addr()
	req, _ := http.NewRequest("GET", srv+"/subscribe", nil)
	req.Header.Set("Accept-Language", "sv-SE,sv;q=0.9,en;q=0.8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `<html lang="sv">`) || !strings.Contains(string(page), "Prenumerera via e-post") ||
		!strings.Contains(string(page), `<option value="sv" lang="sv" selected>`) {
		t.Fatalf("form not Swedish:\n%s", page)
	}
	req, _ = http.NewRequest("POST", srv+"/subscribe", strings.NewReader(url.Values{"email": {"sven@example.org"}, "language": {"sv"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "sv")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("subscribe: %v %v", resp, err)
	}
	resp.Body.Close()
	msgs := smtpd.WaitMessages(1, 10*time.Second)
	if len(msgs) < 1 {
		t.Fatal("no confirmation mail")
	}
	c := parseMail(t, msgs[0].Data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(c.Header.Get("Subject"))
	if !strings.HasPrefix(subject, "Bekräfta din prenumeration på ") || !strings.Contains(c.Text, "Hej!") ||
		!strings.Contains(c.HTML, "Bekräfta min prenumeration") || !strings.Contains(c.HTML, `<html lang="sv">`) {
		t.Fatalf("confirmation not Swedish: %q\n%s", subject, c.Text)
	}
	// The link opened in a browser set to German still speaks Swedish.
	link, err := subscribetest.Link(c.Text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	req, _ = http.NewRequest("GET", srv+u.RequestURI(), nil)
	req.Header.Set("Accept-Language", "de-DE,de;q=0.9")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `<html lang="sv">`) || !strings.Contains(string(page), "Bekräfta min prenumeration") {
		t.Fatalf("confirm page for a German browser: %d\n%s", resp.StatusCode, page)
	}
}
