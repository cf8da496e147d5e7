// Package mailtest runs an in-process SMTP server (emersion/go-smtp) for
// tests: it records what it receives and can be told to fail in the ways
// real relays fail (4xx and 5xx replies, 421 with a closed connection, a
// connection dropped in the middle of DATA).
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	Data []byte   // as received, CRLF line ends, dot-unstuffed
}

// Reply is an SMTP reply to inject. Code 421 also closes the connection
// after the reply, as a relay that is shutting down does.
type Reply struct {
	Code     int
	Enhanced [3]int // zero: derived from Code (x.0.0)
	Text     string
}

// Options configure the server. Hooks run on the server's goroutines and
// may be called concurrently.
type Options struct {
	// OnRcpt may refuse a recipient; nil or a nil Reply accepts it.
	OnRcpt func(from, to string) *Reply
	// OnData may refuse a message after reading it; nil or a nil Reply
	// accepts and records it.
	OnData func(m Message) *Reply
	// DropData, when it returns true, makes the server read a few bytes of
	// the message and then close the connection without a reply.
	DropData func(from string, to []string) bool
	// Username and Password, when Username is set, require AUTH PLAIN
	// (offered without TLS too: AllowInsecureAuth) before MAIL.
	Username, Password string
	// TLS, when set, offers STARTTLS with this configuration (see SelfSigned).
	TLS *tls.Config
	// ImplicitTLS makes the listener speak TLS from the first byte (port
	// 465 style) with the TLS configuration.
	ImplicitTLS bool
}

// Server is a running test server; Close happens in t.Cleanup.
type Server struct {
	Addr string // host:port on 127.0.0.1
	Host string
	Port int

	opts Options
	srv  *smtp.Server

	mu       sync.Mutex
	msgs     []Message
	active   int
	peak     int
	sessions int
	conns    map[*smtp.Conn]bool
}

// NewServer starts a server on 127.0.0.1:0 and stops it when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, conns: map[*smtp.Conn]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "mailtest.localhost"
	srv.AllowInsecureAuth = true
	srv.TLSConfig = opts.TLS
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 64 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	if opts.ImplicitTLS {
		if opts.TLS == nil {
			t.Fatal("mailtest: ImplicitTLS needs TLS")
		}
		ln = tls.NewListener(ln, opts.TLS)
		srv.TLSConfig = nil // no STARTTLS inside TLS
	}
	s.srv = srv
	s.Addr = ln.Addr().String()
	tcp := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port = tcp.IP.String(), tcp.Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = ln.Close() // Close misses a listener that Serve has not registered yet
		<-done
	})
	return s
}

// Messages returns a copy of the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// WaitMessages waits up to d for at least n accepted messages.
func (s *Server) WaitMessages(n int, d time.Duration) []Message {
	deadline := time.Now().Add(d)
	for {
		m := s.Messages()
		if len(m) >= n || time.Now().After(deadline) {
			return m
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Sessions returns how many connections said EHLO in total and the most
// sessions that were open at once.
func (s *Server) Sessions() (total, peak int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions, s.peak
}

// Active returns the number of sessions open now.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	if !s.conns[c] { // STARTTLS starts a second session on one connection
		s.conns[c] = true
		s.sessions++
	}
	s.active++
	s.peak = max(s.peak, s.active)
	s.mu.Unlock()
	return &session{s: s, conn: c}, nil
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
	out    bool // logged out
}

func (r *Reply) err() error {
	ec := smtp.EnhancedCode(r.Enhanced)
	if ec == (smtp.EnhancedCode{}) {
		ec = smtp.EnhancedCode{r.Code / 100, 0, 0}
	}
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: ec, Message: r.Text}
}

// reply turns an injected Reply into an error; a 421 is written directly
// and the connection closed, since go-smtp keeps sessions open after errors.
func (ss *session) reply(r *Reply) error {
	if r.Code == 421 {
		e := r.err().(*smtp.SMTPError)
		_, _ = fmt.Fprintf(ss.conn.Conn(), "421 %d.%d.%d %s\r\n", e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2], r.Text)
		_ = ss.conn.Conn().Close()
	}
	return r.err()
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.s.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password || (identity != "" && identity != username) {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if h := ss.s.opts.OnRcpt; h != nil {
		if r := h(ss.from, to); r != nil {
			return ss.reply(r)
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if h := ss.s.opts.DropData; h != nil && h(ss.from, slices.Clone(ss.to)) {
		_, _ = io.ReadFull(r, make([]byte, 16))
		_ = ss.conn.Conn().Close()
		return errors.New("mailtest: connection dropped")
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: ss.from, To: slices.Clone(ss.to), Data: b}
	if h := ss.s.opts.OnData; h != nil {
		if r := h(m); r != nil {
			return ss.reply(r)
		}
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() {
	ss.from, ss.to = "", nil
}

func (ss *session) Logout() error {
	if !ss.out {
		ss.out = true
		ss.s.mu.Lock()
		ss.s.active--
		ss.s.mu.Unlock()
	}
	return nil
}

// SelfSigned returns a server TLS configuration with a fresh self-signed
// certificate for 127.0.0.1 and localhost (clients must skip verification
// or trust the certificate).
func SelfSigned(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mailtest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}
