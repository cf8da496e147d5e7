package mail

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
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

	// lockStep sends one command per round trip even when the server
	// offers PIPELINING: the fallback path, exercised by tests against
	// servers that do offer it.
	lockStep bool
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
	// Read at connect time, so a transaction asks the client nothing.
	pipelining bool   // the server offers PIPELINING (RFC 2920) and lockStep is off
	mailParams string // " BODY=8BITMIME" when offered, as go-mail's Mail sends it
	buf        []byte // the message as DATA content, reused across transactions
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
//
// With PIPELINING the commands go out in one write and their replies are
// read in order (RFC 2920); without it, one command per round trip. Either
// way the message goes out as one write of dot-stuffed content, so a
// transaction costs two writes when pipelined. Every reply is classified as
// in lock-step: the first failure is the transaction's, and the caller then
// sends RSET if the connection is still usable.
func (s *SMTP) transact(ctx context.Context, c *smtpConn, env Envelope, raw []byte) (se *SendError, keep, started bool) {
	if err := ctx.Err(); err != nil {
		se, _ := classify("MAIL FROM", err)
		return se, false, false
	}
	// One watcher per transaction: cancelling ctx moves the deadline into
	// the past and so interrupts whatever I/O is under way. A digest sends
	// under a context that is never cancelled and needs none.
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	}
	se, keep, started = s.exchange(ctx, c, env, raw)
	if !stop() || ctx.Err() != nil {
		if se == nil {
			se, _ = classify("end of DATA", ctx.Err())
		} else {
			se.Err = fmt.Errorf("%w (%w)", se.Err, ctx.Err())
			se.Temporary = true
		}
		keep = false
	}
	return se, keep, started
}

// pending is a command whose reply is still to be read.
type pending struct {
	step   string
	expect int // as textproto.ReadResponse: 25 accepts 250 and 251
	to     string
}

func (s *SMTP) exchange(ctx context.Context, c *smtpConn, env Envelope, raw []byte) (se *SendError, keep, started bool) {
	t := c.c.Text
	var queue [8]pending
	wait := queue[:0]
	inData := false // DATA was answered 354: only the content can follow
	// sync flushes the queued commands in one write and reads their replies
	// in order, keeping the first failure; after a failure it still reads the
	// replies the server owes, so the connection stays in step for RSET.
	sync := func() bool {
		if err := s.deadline(ctx, c); err != nil {
			se, keep = classify(wait[0].stepName(), err)
			return false
		}
		if err := t.W.Flush(); err != nil {
			se, keep = classify(wait[0].stepName(), err)
			keep = false
			return false
		}
		for _, p := range wait {
			code, err := readReply(t.R, p.expect)
			if code != 0 {
				started = true
			}
			if p.expect == 354 && err == nil {
				inData = true
			}
			if err == nil {
				continue
			}
			perr, pkeep := classify(p.stepName(), err)
			if se == nil {
				se, keep = perr, pkeep
			}
			if !pkeep { // no reply, or 421: the server is gone
				keep = false
				break
			}
		}
		wait = wait[:0]
		if se != nil && inData {
			// A later command succeeded after an earlier one failed (a
			// server accepting DATA without a valid RCPT): the message must
			// not go out, and RSET cannot be sent inside DATA.
			keep = false
		}
		return se == nil
	}
	queue1 := func(p pending) bool {
		wait = append(wait, p)
		return c.pipelining || sync()
	}

	from := env.From
	_, _ = t.W.WriteString("MAIL FROM:<")
	_, _ = t.W.WriteString(from)
	_, _ = t.W.WriteString(">")
	_, _ = t.W.WriteString(c.mailParams)
	_, _ = t.W.WriteString("\r\n")
	if !queue1(pending{step: "MAIL FROM", expect: 250}) {
		return se, keep, started
	}
	for _, to := range env.To {
		_, _ = t.W.WriteString("RCPT TO:<")
		_, _ = t.W.WriteString(to)
		_, _ = t.W.WriteString(">\r\n")
		if !queue1(pending{step: "RCPT TO", expect: 25, to: to}) {
			return se, keep, started
		}
	}
	_, _ = t.W.WriteString("DATA\r\n")
	wait = append(wait, pending{step: "DATA", expect: 354})
	if !sync() {
		return se, keep, started
	}

	c.buf = appendData(c.buf[:0], raw)
	if err := s.deadline(ctx, c); err != nil {
		se, _ = classify("DATA write", err)
		return se, false, true
	}
	// The buffered writer is empty after sync, so this is one write.
	_, err := t.W.Write(c.buf)
	if err == nil {
		err = t.W.Flush()
	}
	if err != nil {
		se, _ = classify("DATA write", err)
		return se, false, true
	}
	if _, err := readReply(t.R, 250); err != nil {
		se, keep = classify("end of DATA", err)
		return se, keep, true
	}
	if cap(c.buf) > 1<<20 { // one huge message should not pin its buffer
		c.buf = nil
	}
	return nil, true, true
}

func (p pending) stepName() string {
	if p.to != "" {
		return p.step + " <" + p.to + ">"
	}
	return p.step
}

// deadline allows one round trip Timeout (or ctx's deadline, if sooner).
// Checking ctx after setting it closes the race with the AfterFunc that
// transact registers: a cancellation is either seen here or moves the
// deadline after this.
func (s *SMTP) deadline(ctx context.Context, c *smtpConn) error {
	d := time.Now().Add(s.cfg.Timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	if err := c.conn.SetDeadline(d); err != nil {
		return err
	}
	return ctx.Err()
}

// appendData appends raw as DATA content (RFC 5321 section 4.5.2): lines
// that start with a dot get another, bare LF becomes CRLF, and the content
// ends with CRLF "." CRLF; what textproto's DotWriter does, into one buffer.
func appendData(dst, raw []byte) []byte {
	dst = slices.Grow(dst, len(raw)+len(raw)/64+5)
	for len(raw) > 0 {
		line := raw
		i := bytes.IndexByte(raw, '\n')
		if i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 && line[0] == '.' {
			dst = append(dst, '.')
		}
		dst = append(append(dst, line...), '\r', '\n')
	}
	return append(dst, ".\r\n"...)
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
		c.pipelining, _ = c.c.Extension("PIPELINING")
		c.pipelining = c.pipelining && !s.cfg.lockStep
		if ok, _ := c.c.Extension("8BITMIME"); ok {
			c.mailParams = " BODY=8BITMIME"
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

// readReply reads one reply, single- or multi-line, and checks its code as
// textproto's ReadResponse does (expect 25 accepts 250 to 259), returning
// the same *textproto.Error or textproto.ProtocolError; unlike it, it
// allocates nothing for a reply with the expected code, which is every
// reply of a successful transaction: only a failure's text is copied.
func readReply(r *bufio.Reader, expect int) (int, error) {
	line, err := replyLine(r)
	if err != nil {
		return 0, err
	}
	code, cont, text, err := parseReply(line)
	if err != nil {
		return code, err
	}
	ok := (1 <= expect && expect < 10 && code/100 == expect) ||
		(10 <= expect && expect < 100 && code/10 == expect) ||
		(100 <= expect && expect < 1000 && code == expect)
	var msg []byte
	if !ok {
		msg = append(msg, text...)
	}
	for cont {
		if line, err = replyLine(r); err != nil {
			return 0, err
		}
		code2, more, text, perr := parseReply(line)
		if perr != nil || code2 != code {
			// Not a line of this reply's: textproto keeps it as text.
			text, more = line, true
		}
		cont = more
		if !ok {
			msg = append(append(msg, '\n'), text...)
		}
	}
	if !ok {
		return code, &textproto.Error{Code: code, Msg: string(msg)}
	}
	return code, nil
}

// replyLine returns the next line without its CRLF; the slice is valid
// until the next read. A last line without one is a line, as in textproto.
func replyLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, textproto.ProtocolError("reply line too long")
	case err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)):
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'}), nil
}

// parseReply splits "250-text" or "250 text" as textproto's parseCodeLine.
func parseReply(line []byte) (code int, cont bool, text []byte, err error) {
	if len(line) < 4 || (line[3] != ' ' && line[3] != '-') {
		return 0, false, nil, textproto.ProtocolError("short response: " + string(line))
	}
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return 0, false, nil, textproto.ProtocolError("invalid response code: " + string(line))
		}
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if code < 100 {
		return 0, false, nil, textproto.ProtocolError("invalid response code: " + string(line))
	}
	return code, line[3] == '-', line[4:], nil
}
