package bounce

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Event is one bounce, complaint or unsubscribe, from mail or a webhook,
// in the form the integration applies to the store.
type Event struct {
	// ID is the idempotency key: the same event delivered twice (an MTA
	// retrying after a lost reply, a provider retrying a webhook) has the
	// same ID, "{source}:{id}". The Handler records it and ignores repeats.
	ID     string
	Source string // "smtp", "ses", "postmark", "sendgrid", "mailgun", "generic"
	Class  Class  // Hard, Soft, Complaint or Unsubscribe
	// Token is the verified VERP token the mail came to (smtp only): it
	// names the delivery, the subscriber mail or the unsubscribe.
	Token *Token
	// Email and MessageID identify the delivery when there is no token
	// (webhooks): the recipient and the original Message-ID (no
	// brackets), each when known.
	Email      string
	MessageID  string
	Status     string // enhanced status code, when known
	Diagnostic string
	Time       time.Time
}

// EventHandler applies events; the integration implements it. An error
// makes the sender retry (SMTP 451, HTTP 500), so HandleEvent must be
// idempotent by Event.ID.
type EventHandler interface {
	HandleEvent(ctx context.Context, ev Event) error
}

// MailHandler is what the listener needs: events, a place to keep the
// mail it cannot classify (never dropped), and the subscriber link
// secrets tokens are bound to.
type MailHandler interface {
	EventHandler
	// Keep stores raw for an operator to see, with why it was not
	// understood; id is the same idempotency key an Event would have.
	Keep(ctx context.Context, id string, raw []byte, reason string) error
	// LinkSecret returns subscriber id's link secret; ok false: no such
	// subscriber.
	LinkSecret(ctx context.Context, subscriberID int64) (secret []byte, ok bool, err error)
}

// ListenerConfig is mail.bounce.listen and its limits; zero values take
// the defaults below.
type ListenerConfig struct {
	Addr            string        // mail.bounce.listen, ":2525"
	Domain          string        // mail.bounce.domain
	Hostname        string        // the greeting's name; default Domain
	MaxMessageBytes int64         // default 10 MiB
	MaxRecipients   int           // per transaction; default 10
	MaxConns        int           // at once; default 50, more get 421
	CommandTimeout  time.Duration // per read or write; default 1m
	SessionTimeout  time.Duration // a whole connection; default 10m
}

func (c ListenerConfig) withDefaults() ListenerConfig {
	if c.Hostname == "" {
		c.Hostname = c.Domain
	}
	if c.MaxMessageBytes <= 0 || c.MaxMessageBytes > MaxParseBytes {
		c.MaxMessageBytes = MaxParseBytes
	}
	if c.MaxRecipients <= 0 {
		c.MaxRecipients = 10
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 50
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = time.Minute
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Minute
	}
	return c
}

// Listener is the inbound SMTP server for bounces+ and unsubscribe+
// addresses. It is never a relay or a mailbox: every other recipient is
// refused with 550.
type Listener struct {
	cfg    ListenerConfig
	tokens *Tokens
	h      MailHandler
	log    *slog.Logger
}

// NewListener returns a listener; Run or Serve starts it.
func NewListener(cfg ListenerConfig, tokens *Tokens, h MailHandler, log *slog.Logger) *Listener {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Listener{cfg: cfg.withDefaults(), tokens: tokens, h: h, log: log}
}

// Run listens on cfg.Addr and serves until ctx ends.
func (l *Listener) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", l.cfg.Addr)
	if err != nil {
		return fmt.Errorf("bounce: listen %s: %w", l.cfg.Addr, err)
	}
	return l.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then closes ln and every connection
// and returns once all are gone. It returns nil after a shutdown.
func (l *Listener) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{l: l, ctx: ctx}, nil
	}))
	s.Domain = l.cfg.Hostname
	s.MaxMessageBytes = l.cfg.MaxMessageBytes
	s.MaxRecipients = l.cfg.MaxRecipients
	s.ReadTimeout = l.cfg.CommandTimeout
	s.WriteTimeout = l.cfg.CommandTimeout
	s.ErrorLog = slogPrinter{l.log}
	lim := &limitListener{Listener: ln, sem: make(chan struct{}, l.cfg.MaxConns), session: l.cfg.SessionTimeout, log: l.log}
	done := make(chan error, 1)
	go func() { done <- s.Serve(lim) }()
	select {
	case err := <-done:
		return fmt.Errorf("bounce: smtp: %w", err)
	case <-ctx.Done():
	}
	// Close, not Shutdown: a sender whose transaction is cut simply
	// retries later, and a shutdown must not wait on slow clients.
	err := s.Close()
	<-done
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return fmt.Errorf("bounce: close smtp: %w", err)
	}
	return nil
}

// slogPrinter routes go-smtp's connection errors to slog at DEBUG: they
// are what remote clients did, not Herald's faults.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Debug("bounce smtp", "msg", fmt.Sprintf(format, v...))
}
func (p slogPrinter) Println(v ...any) { p.log.Debug("bounce smtp", "msg", fmt.Sprint(v...)) }

// limitListener caps connections at once (the rest get 421 and are
// closed at once) and bounds each connection's total time.
type limitListener struct {
	net.Listener
	sem     chan struct{}
	session time.Duration
	log     *slog.Logger
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			end := time.Now().Add(l.session)
			lc := &limitConn{Conn: c, end: end, release: func() { <-l.sem }}
			_ = lc.SetDeadline(end)
			return lc, nil
		default:
			l.log.Debug("bounce smtp: too many connections", "remote", c.RemoteAddr().String())
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(c, "421 4.7.0 Too many connections, try again later\r\n")
			_ = c.Close()
		}
	}
}

// limitConn keeps every deadline go-smtp sets within the session's end.
type limitConn struct {
	net.Conn
	end     time.Time
	once    sync.Once
	release func()
}

// writeGrace lets the 421 that ends a session go out after its end.
const writeGrace = 5 * time.Second

func clamp(t, end time.Time) time.Time {
	if t.IsZero() || t.After(end) {
		return end
	}
	return t
}

func (c *limitConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}
func (c *limitConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(clamp(t, c.end))
}
func (c *limitConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(clamp(t, c.end.Add(writeGrace)))
}
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

type session struct {
	l    *Listener
	ctx  context.Context
	from string
	rcpt []Token
	bad  int // recipients refused on this connection
}

// maxBadRcpt bounds the token lookups one connection can cause with
// recipients that decode but do not verify; after it every recipient is
// refused unread.
const maxBadRcpt = 10

var (
	errNoMailbox = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such recipient here"}
	errTempFail  = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
)

func (s *session) Reset()        { s.from, s.rcpt = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.bad >= maxBadRcpt {
		return errNoMailbox
	}
	tok, err := s.l.tokens.VerifyAddress(to, s.l.cfg.Domain, func(id int64) ([]byte, bool, error) {
		return s.l.h.LinkSecret(s.ctx, id)
	})
	switch {
	case errors.Is(err, ErrInvalidToken):
		s.bad++
		return errNoMailbox
	case err != nil:
		s.l.log.Warn("bounce smtp: token lookup", "err", err)
		return errTempFail
	}
	s.rcpt = append(s.rcpt, tok)
	return nil
}

func (s *session) Data(r io.Reader) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err // go-smtp answers 552 for a message over the size limit
	}
	if len(s.rcpt) == 0 {
		return errNoMailbox
	}
	// As a delivery agent would: the envelope sender becomes Return-Path,
	// which tells a null-sender bounce from a person's reply.
	raw := append([]byte("Return-Path: <"+strings.Trim(s.from, "<>")+">\r\n"), body...)
	sum := sha256.Sum256(raw)
	id := "smtp:" + hex.EncodeToString(sum[:16])
	for _, tok := range s.rcpt {
		// One key per message and recipient, whatever their order.
		key := fmt.Sprintf("%s:%c%d.%d.%s%s", id, tok.Kind, tok.SubscriberID, tok.RunID, tok.MailKind, tok.Newsletter)
		if err := s.l.deliver(s.ctx, key, tok, raw); err != nil {
			s.l.log.Warn("bounce smtp: handler failed", "err", err)
			return errTempFail
		}
	}
	return nil
}

// deliver acts on one message for one verified recipient token.
func (l *Listener) deliver(ctx context.Context, id string, tok Token, raw []byte) error {
	t := tok
	if tok.Kind == KindUnsubscribe {
		return l.h.HandleEvent(ctx, Event{ID: id, Source: "smtp", Class: Unsubscribe, Token: &t, Time: time.Now().UTC()})
	}
	rep := parseBytes(raw)
	switch {
	case rep.Class.Ignored():
		l.log.Debug("bounce smtp: ignored", "class", rep.Class.String(), "reason", rep.Reason)
		return nil
	case rep.Class == Unknown:
		return l.h.Keep(ctx, id, bytes.Clone(raw), rep.Reason)
	}
	return l.h.HandleEvent(ctx, Event{
		ID: id, Source: "smtp", Class: rep.Class, Token: &t,
		Email: rep.Recipient, MessageID: rep.MessageID,
		Status: rep.Status, Diagnostic: rep.Diagnostic, Time: time.Now().UTC(),
	})
}
