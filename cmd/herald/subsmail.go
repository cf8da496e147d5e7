package main

import (
	"context"
	"fmt"
	"log/slog"
	netmail "net/mail"

	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/internal/subscribe"
)

// newMailSender builds the configured transport (mail.transport: outbox
// or smtp), signing with DKIM when mail.dkim is set.
func newMailSender(cfg *Config, log *slog.Logger) (mail.Sender, error) {
	var s mail.Sender
	switch cfg.Mail.Transport {
	case "smtp":
		sc := cfg.Mail.SMTP
		smtp, err := mail.NewSMTP(mail.SMTPConfig{Host: sc.Host, Port: sc.Port, Username: sc.Username, Password: sc.Password,
			TLS: sc.TLS, HELO: sc.HELO, Timeout: sc.Timeout.D(), Connections: sc.Connections, Rate: sc.Rate}, log)
		if err != nil {
			return nil, err
		}
		s = smtp
	default:
		ob, err := mail.NewOutbox(cfg.Mail.OutboxDir, cfg.Digest.Lease.D(), log)
		if err != nil {
			return nil, err
		}
		s = ob
	}
	if d := cfg.Mail.DKIM; d.Domain != "" {
		key, err := mail.LoadDKIMKey(d.KeyFile)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("mail.dkim.key_file: %w", err)
		}
		signer, err := mail.NewDKIM(mail.DKIMConfig{Domain: d.Domain, Selector: d.Selector, Key: key})
		if err != nil {
			s.Close()
			return nil, err
		}
		s = signer.Wrap(s)
	}
	return s, nil
}

// subscribeMailer turns subscribe's mail (confirm, welcome) into messages
// with internal/mail and hands them to a mail.Sender.
type subscribeMailer struct {
	from       mail.Address
	returnPath string
	sender     mail.Sender
	// verp, when set (mail.bounce.domain), gives each mail a return path
	// naming its subscriber, found by subscriber.
	verp       *verpAddresses
	subscriber func(ctx context.Context, email string) (*subscribe.Subscriber, error)
}

// newSubscribeMailer returns the Mailer subscribe uses and its sender's Close.
func newSubscribeMailer(cfg *Config, log *slog.Logger) (subscribe.Mailer, func() error, error) {
	from, err := netmail.ParseAddress(cfg.Mail.From)
	if err != nil {
		return nil, nil, fmt.Errorf("mail.from: %w", err)
	}
	rp := from.Address
	if cfg.Mail.ReturnPath != "" {
		a, err := netmail.ParseAddress(cfg.Mail.ReturnPath)
		if err != nil {
			return nil, nil, fmt.Errorf("mail.return_path: %w", err)
		}
		rp = a.Address
	}
	s, err := newMailSender(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	return &subscribeMailer{from: mail.Address{Name: from.Name, Email: from.Address}, returnPath: rp, sender: s}, s.Close, nil
}

func (m *subscribeMailer) Send(ctx context.Context, sm *subscribe.Mail) error {
	msg := &mail.Message{
		From: m.from, To: mail.Address{Name: sm.ToName, Email: sm.To},
		Subject: sm.Subject, Text: sm.Text, HTML: sm.HTML,
		ListID: sm.ListID, ListUnsubscribe: sm.ListUnsubscribe, OneClick: sm.OneClick,
		Headers: [][2]string{{"X-Herald-Mail", sm.Kind}},
	}
	returnPath := m.returnPath
	if m.verp != nil && m.subscriber != nil {
		// VERP: a bounce of this mail names its subscriber.
		if sub, err := m.subscriber(ctx, sm.To); err == nil {
			if rp, err := m.verp.mailReturnPath(sub.ID, sm.Kind, sub.LinkSecret); err == nil {
				returnPath = rp
			}
			if sm.ListUnsubscribe != "" {
				if to, err := m.verp.UnsubscribeMailto(sub.ID, sm.Newsletter, sub.LinkSecret); err == nil {
					msg.ListUnsubscribeMailto = to
				}
			}
		}
	}
	raw, err := mail.Encode(msg)
	if err != nil {
		return err
	}
	return m.sender.Send(ctx, mail.Envelope{From: returnPath, To: []string{sm.To}}, raw)
}
