package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"time"

	"github.com/herald-news/herald/internal/subscribe"
	gomail "github.com/wneessen/go-mail"
)

// goMailer sends subscribe's mail (confirm, welcome) with go-mail: into
// the outbox folder as .eml files, or over SMTP. It stands in until the
// internal/mail package is merged, which then replaces it.
type goMailer struct {
	cfg  *Config
	from *mail.Address
	log  *slog.Logger
}

func newSubscribeMailer(cfg *Config, log *slog.Logger) (subscribe.Mailer, error) {
	from, err := mail.ParseAddress(cfg.Mail.From)
	if err != nil {
		return nil, fmt.Errorf("mail.from: %w", err)
	}
	return &goMailer{cfg: cfg, from: from, log: log}, nil
}

func (g *goMailer) Send(ctx context.Context, m *subscribe.Mail) error {
	msg := gomail.NewMsg()
	if err := msg.FromFormat(g.from.Name, g.from.Address); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.AddToFormat(m.ToName, m.To); err != nil {
		return fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	if m.ListID != "" {
		msg.SetGenHeaderPreformatted(gomail.Header("List-Id"), m.ListID)
	}
	if m.ListUnsubscribe != "" {
		if m.OneClick {
			if err := msg.SetListUnsubscribeOneClick(m.ListUnsubscribe); err != nil {
				return fmt.Errorf("mail: list-unsubscribe: %w", err)
			}
		} else {
			msg.SetListUnsubscribe(m.ListUnsubscribe)
		}
	}
	if g.cfg.Mail.Transport == "outbox" {
		if err := os.MkdirAll(g.cfg.Mail.OutboxDir, 0o750); err != nil {
			return fmt.Errorf("mail: outbox: %w", err)
		}
		var rnd [6]byte
		rand.Read(rnd[:])
		name := filepath.Join(g.cfg.Mail.OutboxDir, time.Now().UTC().Format("20060102T150405.000000")+"-"+m.Kind+"-"+hex.EncodeToString(rnd[:])+".eml")
		return msg.WriteToFile(name)
	}
	sc := g.cfg.Mail.SMTP
	policy := gomail.TLSMandatory
	opts := []gomail.Option{gomail.WithPort(sc.Port), gomail.WithTimeout(sc.Timeout.D())}
	switch sc.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSLPort(false))
	case "none":
		policy = gomail.NoTLS
	}
	opts = append(opts, gomail.WithTLSPolicy(policy))
	if sc.HELO != "" {
		opts = append(opts, gomail.WithHELO(sc.HELO))
	}
	if sc.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(sc.Username), gomail.WithPassword(sc.Password))
	}
	c, err := gomail.NewClient(sc.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp: %w", err)
	}
	return c.DialAndSendWithContext(ctx, msg)
}
