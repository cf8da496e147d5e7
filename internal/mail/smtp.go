package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// SMTPConfig is the mail.smtp section of the configuration.
type SMTPConfig struct {
	Host               string
	Port               int // 0: 587 for starttls, 465 for tls, 25 for none
	Username, Password string
	// TLS is "starttls" (mandatory STARTTLS; the default), "tls" (implicit
	// TLS) or "none" (plain text; passwords then only go to localhost).
	TLS                string
	HELO               string        // EHLO name; empty: the host name
	Timeout            time.Duration // per SMTP step; 0: 30s
	Connections        int           // pool size; 0: 1
	Rate               float64       // messages per second across the pool; 0: unlimited
	InsecureSkipVerify bool          // accept any server certificate (tests, private relays)
}

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("mail: sender closed")

// SMTP sends through a pool of reused connections to one relay, using
// go-mail's low-level client and classifying replies itself: a digest is one
// MAIL/RCPT/DATA per recipient on warm connections, not a dial per message.
type SMTP struct {
	cfg   SMTPConfig
	log   *slog.Logger
	addr  string
	helo  string
	tls   *tls.Config
	slots chan struct{} // one token per connection in use
	limit *limiter

	mu     sync.Mutex
	idle   []*smtpConn
	closed bool
}

type smtpConn struct {
	c    *smtp.Client
	conn net.Conn
}

// NewSMTP checks cfg and returns a sender; it dials lazily on first Send.
func NewSMTP(cfg SMTPConfig, log *slog.Logger) (*SMTP, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Host == "" {
		return nil, errors.New("mail: smtp: host is empty")
	}
	cfg.TLS = strings.ToLower(cfg.TLS)
	defPort := map[string]int{"": 587, "starttls": 587, "tls": 465, "none": 25}
	p, ok := defPort[cfg.TLS]
	if !ok {
		return nil, fmt.Errorf("mail: smtp: tls %q: want starttls, tls or none", cfg.TLS)
	}
	if cfg.TLS == "" {
		cfg.TLS = "starttls"
	}
	if cfg.Port == 0 {
		cfg.Port = p
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mail: smtp: port %d out of range", cfg.Port)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Connections <= 0 {
		cfg.Connections = 1
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("mail: smtp: rate %v is negative", cfg.Rate)
	}
	helo := cfg.HELO
	if helo == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			helo = h
		} else {
			helo = "localhost"
		}
	}
	return &SMTP{
		cfg:   cfg,
		log:   log,
		addr:  net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		helo:  helo,
		tls:   &tls.Config{ServerName: cfg.Host, InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12},
		slots: make(chan struct{}, cfg.Connections),
		limit: newLimiter(cfg.Rate),
	}, nil
}

// Send delivers raw to env.To. It waits (honouring ctx) for the rate limit
// and for a free connection, reuses an idle connection or dials one, and
// runs one transaction. Errors are *SendError (see IsTemporary and
// IsPermanent) except for an invalid envelope or a closed sender.
func (s *SMTP) Send(ctx context.Context, env Envelope, raw []byte) error {
	if err := env.validate(); err != nil {
		return err
	}
	if err := s.limit.Wait(ctx); err != nil {
		return &SendError{Temporary: true, Err: fmt.Errorf("waiting for rate limit: %w", err)}
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return &SendError{Temporary: true, Err: fmt.Errorf("waiting for a connection: %w", ctx.Err())}
	}
	defer func() { <-s.slots }()

	c, reused, err := s.get(ctx)
	if err != nil {
		return err
	}
	se, keep, started := s.transact(ctx, c, env, raw)
	if se != nil && reused && !started && !keep && ctx.Err() == nil {
		// An idle connection the server had already dropped: redial once.
		s.discard(c)
		if c, err = s.dial(ctx); err != nil {
			return err
		}
		se, keep, _ = s.transact(ctx, c, env, raw)
	}
	if se == nil {
		s.put(c)
		return nil
	}
	if keep {
		if err := s.step(ctx, c, func() error { return c.c.Reset() }); err != nil {
			keep = false
		}
	}
	if keep {
		s.put(c)
	} else {
		s.discard(c)
	}
	return se
}

// transact runs MAIL, RCPT and DATA. keep reports whether the connection is
// still in a known state; started whether the server replied to anything.
func (s *SMTP) transact(ctx context.Context, c *smtpConn, env Envelope, raw []byte) (se *SendError, keep, started bool) {
	fail := func(step string, err error) (*SendError, bool, bool) {
		se, keep := classify(step, err)
		return se, keep, started || keep
	}
	if err := s.step(ctx, c, func() error { return c.c.Mail("<" + env.From + ">") }); err != nil {
		return fail("MAIL FROM", err)
	}
	started = true
	for _, to := range env.To {
		if err := s.step(ctx, c, func() error { return c.c.Rcpt("<" + to + ">") }); err != nil {
			return fail("RCPT TO <"+to+">", err)
		}
	}
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	if err := s.step(ctx, c, func() (err error) { w, err = c.c.Data(); return err }); err != nil {
		return fail("DATA", err)
	}
	if err := s.step(ctx, c, func() error { _, err := w.Write(raw); return err }); err != nil {
		se, _ := classify("DATA write", err)
		return se, false, true
	}
	if err := s.step(ctx, c, w.Close); err != nil {
		return fail("end of DATA", err)
	}
	return nil, true, true
}

// step runs one SMTP exchange under a deadline of Timeout (or ctx's, if
// sooner); cancelling ctx interrupts the I/O by moving the deadline.
func (s *SMTP) step(ctx context.Context, c *smtpConn, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := time.Now().Add(s.cfg.Timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	if err := c.conn.SetDeadline(d); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	err := f()
	if !stop() || ctx.Err() != nil {
		if err == nil {
			err = ctx.Err()
		}
		return fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return err
}

func (s *SMTP) get(ctx context.Context) (*smtpConn, bool, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, ErrClosed
	}
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.mu.Unlock()
		return c, true, nil
	}
	s.mu.Unlock()
	c, err := s.dial(ctx)
	return c, false, err
}

func (s *SMTP) put(c *smtpConn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.quit(c)
		return
	}
	s.idle = append(s.idle, c)
	s.mu.Unlock()
}

func (s *SMTP) discard(c *smtpConn) {
	_ = c.conn.Close()
	s.log.Debug("smtp connection discarded", slog.String("server", s.addr))
}

func (s *SMTP) quit(c *smtpConn) {
	_ = c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	_ = c.c.Quit()
	_ = c.conn.Close()
}

// dial connects, greets, secures and authenticates one connection. Every
// failure here is reported as temporary, even a 5xx: the relay or the
// configuration is at fault, not the recipient, so it must not count toward
// bouncing an address.
func (s *SMTP) dial(ctx context.Context) (*smtpConn, error) {
	setup := func(step string, err error) error {
		se, _ := classify(step, err)
		se.Temporary = true
		return se
	}
	d := net.Dialer{Timeout: s.cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, setup("dial "+s.addr, err)
	}
	if s.cfg.TLS == "tls" {
		tc := tls.Client(conn, s.tls)
		hctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			_ = conn.Close()
			return nil, setup("TLS handshake", err)
		}
		conn = tc
	}
	c := &smtpConn{conn: conn}
	err = s.step(ctx, c, func() (err error) {
		c.c, err = smtp.NewClient(conn, s.cfg.Host)
		if err != nil {
			return fmt.Errorf("greeting: %w", err)
		}
		c.c.SkipSMTPUTF8(true) // addresses are ASCII (checkEmail)
		if err := c.c.Hello(s.helo); err != nil {
			return fmt.Errorf("EHLO: %w", err)
		}
		if s.cfg.TLS == "starttls" {
			if ok, _ := c.c.Extension("STARTTLS"); !ok {
				return errors.New("server does not offer STARTTLS (set mail.smtp.tls: none to send in plain text)")
			}
			if err := c.c.StartTLS(s.tls); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		}
		if s.cfg.Username != "" {
			if err := s.auth(c.c); err != nil {
				return fmt.Errorf("AUTH: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		_ = conn.Close()
		return nil, setup("connect to "+s.addr, err)
	}
	s.log.Debug("smtp connected", slog.String("server", s.addr), slog.String("tls", s.cfg.TLS))
	return c, nil
}

// auth uses PLAIN, else LOGIN. go-mail's mechanisms refuse to send a password
// over an unencrypted connection except to localhost.
func (s *SMTP) auth(c *smtp.Client) error {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return errors.New("server does not offer AUTH")
	}
	list := strings.Fields(strings.ToUpper(mechs))
	switch {
	case slices.Contains(list, "PLAIN"):
		return c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host, false))
	case slices.Contains(list, "LOGIN"):
		return c.Auth(smtp.LoginAuth(s.cfg.Username, s.cfg.Password, s.cfg.Host, false))
	}
	return fmt.Errorf("no supported mechanism in %q (want PLAIN or LOGIN)", mechs)
}

// Close quits idle connections; connections in use are closed when their
// Send returns. Send fails with ErrClosed afterwards.
func (s *SMTP) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	for _, c := range idle {
		s.quit(c)
	}
	return nil
}
