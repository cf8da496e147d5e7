package subscribe_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/lang"
	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/testenv"
)

// confirmAndWelcome runs a real subscription and returns its two mails,
// in language (default: none chosen).
func confirmAndWelcome(t *testing.T, e *env, language ...string) (confirm, welcome *subscribe.Mail) {
	t.Helper()
	ctx := context.Background()
	req := subscribe.Request{Email: "anna@example.org", Name: "Anna", Newsletters: []string{"weekly"}}
	if len(language) > 0 {
		req.Language = language[0]
	}
	if err := e.svc.Subscribe(ctx, req); err != nil {
		t.Fatal(err)
	}
	confirm = e.mails.Wait(t, 1)
	if _, err := e.svc.Confirm(ctx, e.confirmToken(t, confirm)); err != nil {
		t.Fatal(err)
	}
	return confirm, e.mails.Wait(t, 2)
}

// TestJudgeMailpitSubscribeMails: the confirmation and the welcome mail
// score at least 90 % in Mailpit's html-check (before the shared design:
// 74.1 and 85.4), in every shipped language.
func TestJudgeMailpitSubscribeMails(t *testing.T) {
	mp := testenv.Mailpit(t)
	for _, code := range lang.Shipped() {
		confirm, welcome := confirmAndWelcome(t, newEnv(t, "https://news.example.org"), code)
		if !strings.Contains(confirm.HTML, `<html lang="`+code+`">`) {
			t.Fatalf("the %s confirmation is not in %s", code, code)
		}
		judgeMails(t, mp, code, confirm, welcome)
	}
}

func judgeMails(t *testing.T, mp *testenv.MailpitServer, code string, mails ...*subscribe.Mail) {
	for _, m := range mails {
		t.Run(code+"/"+m.Kind, func(t *testing.T) {
			raw, err := mail.Encode(&mail.Message{From: mail.Address{Email: "news@example.org"}, To: mail.Address{Email: m.To},
				Subject: m.Subject, Text: m.Text, HTML: m.HTML, ListUnsubscribe: m.ListUnsubscribe, OneClick: m.OneClick})
			if err != nil {
				t.Fatal(err)
			}
			c := mp.HTMLCheck(t, mp.Send(t, "news@example.org", m.To, raw))
			t.Logf("Mailpit html-check %s: %s", m.Kind, c)
			if c.Total.Supported < 90 {
				t.Errorf("html-check %s: %.2f%% supported, want at least 90%%", m.Kind, c.Total.Supported)
			}
		})
	}
}

// TestSubscribeMailDesign: both mails carry the shared masthead and a
// bullet-proof button (a padded table cell, no rem, no inline-block),
// and the confirmation never names the person.
func TestSubscribeMailDesign(t *testing.T) {
	confirm, welcome := confirmAndWelcome(t, newEnv(t, "https://news.example.org"))
	for _, m := range []*subscribe.Mail{confirm, welcome} {
		for _, bad := range []string{"rem;", "inline-block", "rem "} {
			if strings.Contains(m.HTML, bad) {
				t.Errorf("%s mail has %q", m.Kind, bad)
			}
		}
		for _, want := range []string{`border-top:4px solid #1a5fb4`, `<td bgcolor="#1a5fb4" style="padding:12px 22px;`, `max-width:600px`, `<!--[if mso]>`, `margin:0;`} {
			if !strings.Contains(m.HTML, want) {
				t.Errorf("%s mail lacks %q", m.Kind, want)
			}
		}
	}
	if strings.Contains(confirm.HTML+confirm.Text, "Anna") {
		t.Error("the confirmation mail names the person")
	}
}

// TestConfirmExpiryZone: the expiry is told in the first chosen
// newsletter's zone, else in site.timezone.
func TestConfirmExpiryZone(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, tc := range []struct {
		name    string
		nlZone  *time.Location
		want    string // 2026-03-08 12:00 UTC in the zone
		siteLoc *time.Location
	}{
		{"OKNewsletterZone", berlin, "8 March 2026 13:00 CET", tokyo},
		{"OKSiteZone", nil, "8 March 2026 21:00 JST", tokyo},
		{"OKUTC", nil, "8 March 2026 12:00 UTC", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, "https://news.example.org", func(c *subscribe.Config) {
				c.Newsletters[1].Location = tc.nlZone
				c.SiteLocation = tc.siteLoc
			})
			confirm, _ := confirmAndWelcome(t, e)
			for _, body := range []string{confirm.Text, confirm.HTML} {
				if !strings.Contains(body, "works until "+tc.want) {
					t.Errorf("expiry not %q in:\n%s", tc.want, body)
				}
			}
		})
	}
}
