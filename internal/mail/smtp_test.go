package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/mail/mailtest"
)

func newTestSMTP(t *testing.T, srv *mailtest.Server, mutate func(*SMTPConfig)) *SMTP {
	t.Helper()
	cfg := SMTPConfig{Host: srv.Host, Port: srv.Port, TLS: "none", HELO: "herald.test", Timeout: 5 * time.Second, Connections: 1}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := NewSMTP(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func encodeFor(t *testing.T, to string, oneClick bool) []byte {
	t.Helper()
	m := sampleMessage()
	m.To = Address{Name: "Ørjan Åkesson", Email: to}
	m.OneClick = oneClick
	raw, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestSMTPSendsParseableMail(t *testing.T) {
	for _, mode := range []string{"none", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			opts := mailtest.Options{Username: "herald", Password: "s3cret"}
			if mode == "starttls" {
				opts.TLS = mailtest.SelfSigned(t)
			}
			srv := mailtest.NewServer(t, opts)
			s := newTestSMTP(t, srv, func(c *SMTPConfig) {
				c.TLS, c.InsecureSkipVerify, c.Username, c.Password = mode, true, "herald", "s3cret"
			})
			ctx := context.Background()
			for i, oneClick := range []bool{true, false} {
				to := fmt.Sprintf("rcpt%d@example.net", i)
				env := Envelope{From: "bounces@news.example.org", To: []string{to}}
				if err := s.Send(ctx, env, encodeFor(t, to, oneClick)); err != nil {
					t.Fatal(err)
				}
			}
			got := srv.Messages()
			if len(got) != 2 {
				t.Fatalf("%d messages", len(got))
			}
			for i, m := range got {
				if m.From != "bounces@news.example.org" || len(m.To) != 1 || m.To[0] != fmt.Sprintf("rcpt%d@example.net", i) {
					t.Errorf("envelope %s %v", m.From, m.To)
				}
				p := mustParse(t, m.Data)
				if p.To.Name != "Ørjan Åkesson" || p.To.Address != m.To[0] || p.From.Name != "Cluster Bridge" {
					t.Errorf("From %v To %v", p.From, p.To)
				}
				if !strings.HasSuffix(p.Header.Get("Message-ID"), "@news.example.org>") {
					t.Errorf("Message-ID %q", p.Header.Get("Message-ID"))
				}
				if strings.Join(p.Types, ",") != "text/plain,text/html" || !strings.Contains(p.HTML, "<b>three</b>") || !strings.Contains(p.Text, "Hello Åsa") {
					t.Errorf("bodies %v %q %q", p.Types, p.Text, p.HTML)
				}
				if p.Header.Get("List-Id") == "" || p.Header.Get("List-Unsubscribe") == "" {
					t.Error("List-Id or List-Unsubscribe missing")
				}
				if post := p.Header.Get("List-Unsubscribe-Post"); (post != "") != (i == 0) {
					t.Errorf("List-Unsubscribe-Post %q with OneClick %v", post, i == 0)
				}
			}
			if total, _ := srv.Sessions(); total != 1 {
				t.Errorf("%d sessions for 2 messages, want the connection reused", total)
			}
		})
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{TLS: mailtest.SelfSigned(t), ImplicitTLS: true, Username: "u", Password: "p"})
	env := Envelope{From: "a@example.org", To: []string{"b@example.net"}}
	s := newTestSMTP(t, srv, func(c *SMTPConfig) { c.TLS, c.Username, c.Password = "tls", "u", "p" })
	if err := s.Send(context.Background(), env, encodeFor(t, "b@example.net", false)); err == nil {
		t.Error("self-signed certificate accepted without InsecureSkipVerify")
	}
	s = newTestSMTP(t, srv, func(c *SMTPConfig) { c.TLS, c.InsecureSkipVerify, c.Username, c.Password = "tls", true, "u", "p" })
	if err := s.Send(context.Background(), env, encodeFor(t, "b@example.net", false)); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages", n)
	}
}

func TestSMTPWaitForConnectionHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := mailtest.NewServer(t, mailtest.Options{OnData: func(mailtest.Message) *mailtest.Reply {
		<-release
		return nil
	}})
	s := newTestSMTP(t, srv, nil) // one connection
	env := Envelope{From: "a@example.org", To: []string{"b@example.net"}}
	busy := make(chan error, 1)
	go func() { busy <- s.Send(context.Background(), env, []byte("Subject: x\r\n\r\nx\r\n")) }()
	for srv.Active() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Send(ctx, env, []byte("Subject: y\r\n\r\ny\r\n"))
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) || !IsTemporary(err) {
		t.Errorf("err = %v", err)
	}
	if err := <-busy; err != nil {
		t.Error(err)
	}
}

func TestSMTPRequiresSTARTTLS(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{}) // no TLS offered
	s := newTestSMTP(t, srv, func(c *SMTPConfig) { c.TLS = "starttls" })
	err := s.Send(context.Background(), Envelope{From: "a@example.org", To: []string{"b@example.net"}}, encodeFor(t, "b@example.net", false))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") || IsPermanent(err) {
		t.Errorf("err = %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("sent in plain text")
	}
}

func TestSMTPWrongPasswordIsNotPermanent(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: "u", Password: "p"})
	s := newTestSMTP(t, srv, func(c *SMTPConfig) { c.Username, c.Password = "u", "wrong" })
	err := s.Send(context.Background(), Envelope{From: "a@example.org", To: []string{"b@example.net"}}, encodeFor(t, "b@example.net", false))
	var se *SendError
	if !errors.As(err, &se) || se.Code != 535 || IsPermanent(err) || !IsTemporary(err) {
		t.Errorf("err = %v (%+v): an AUTH failure must not bounce the recipient", err, se)
	}
}

func TestSMTPFaults(t *testing.T) {
	tests := []struct {
		name      string
		opts      func(fail *atomic.Bool) mailtest.Options
		code      int
		temporary bool
	}{
		{"Rcpt421", func(fail *atomic.Bool) mailtest.Options {
			return mailtest.Options{OnRcpt: func(_, _ string) *mailtest.Reply {
				if fail.Load() {
					return &mailtest.Reply{Code: 421, Text: "shutting down"}
				}
				return nil
			}}
		}, 421, true},
		{"Rcpt451", func(fail *atomic.Bool) mailtest.Options {
			return mailtest.Options{OnRcpt: func(_, _ string) *mailtest.Reply {
				if fail.Load() {
					return &mailtest.Reply{Code: 451, Enhanced: [3]int{4, 7, 1}, Text: "greylisted"}
				}
				return nil
			}}
		}, 451, true},
		{"Data421", func(fail *atomic.Bool) mailtest.Options {
			return mailtest.Options{OnData: func(mailtest.Message) *mailtest.Reply {
				if fail.Load() {
					return &mailtest.Reply{Code: 421, Text: "bye"}
				}
				return nil
			}}
		}, 421, true},
		{"Rcpt550", func(fail *atomic.Bool) mailtest.Options {
			return mailtest.Options{OnRcpt: func(_, _ string) *mailtest.Reply {
				if fail.Load() {
					return &mailtest.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
				}
				return nil
			}}
		}, 550, false},
		{"Data554", func(fail *atomic.Bool) mailtest.Options {
			return mailtest.Options{OnData: func(mailtest.Message) *mailtest.Reply {
				if fail.Load() {
					return &mailtest.Reply{Code: 554, Text: "spam"}
				}
				return nil
			}}
		}, 554, false},
		{"DropMidData", func(fail *atomic.Bool) mailtest.Options {
			return mailtest.Options{DropData: func(string, []string) bool { return fail.Load() }}
		}, 0, true},
	}
	// mailtest's go-smtp server offers PIPELINING; lockStep turns it down.
	for _, mode := range []struct {
		name     string
		lockStep bool
	}{{"Pipelining", false}, {"LockStep", true}} {
		t.Run(mode.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var fail atomic.Bool
					srv := mailtest.NewServer(t, tt.opts(&fail))
					s := newTestSMTP(t, srv, func(c *SMTPConfig) { c.lockStep = mode.lockStep })
					ctx := context.Background()
					send := func(to string) error {
						return s.Send(ctx, Envelope{From: "bounce@news.example.org", To: []string{to}}, encodeFor(t, to, true))
					}
					if err := send("warm@example.net"); err != nil { // a pooled connection to fail on
						t.Fatal(err)
					}
					s.mu.Lock()
					pipelined := s.idle[0].pipelining
					s.mu.Unlock()
					if pipelined == mode.lockStep {
						t.Fatalf("pipelining = %v", pipelined)
					}
					fail.Store(true)
					err := send("x@example.net")
					var se *SendError
					if !errors.As(err, &se) {
						t.Fatalf("err = %v, want *SendError", err)
					}
					if se.Code != tt.code || IsTemporary(err) != tt.temporary || IsPermanent(err) == tt.temporary {
						t.Errorf("err = %v: code %d temporary %v permanent %v", err, se.Code, IsTemporary(err), IsPermanent(err))
					}
					if tt.code == 451 && se.Enhanced != "4.7.1" {
						t.Errorf("Enhanced = %q", se.Enhanced)
					}
					fail.Store(false)
					if err := send("after@example.net"); err != nil {
						t.Fatalf("send after fault: %v", err)
					}
					got := srv.Messages()
					if len(got) != 2 || got[1].To[0] != "after@example.net" {
						t.Errorf("received %d messages", len(got))
					}
				})
			}
		})
	}
}

func TestSMTPRedialsStaleConnection(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	s := newTestSMTP(t, srv, nil)
	env := Envelope{From: "a@example.org", To: []string{"b@example.net"}}
	raw := encodeFor(t, "b@example.net", false)
	if err := s.Send(context.Background(), env, raw); err != nil {
		t.Fatal(err)
	}
	// The relay drops the idle connection behind our back.
	s.mu.Lock()
	_ = s.idle[0].conn.Close()
	s.mu.Unlock()
	if err := s.Send(context.Background(), env, raw); err != nil {
		t.Fatalf("send on stale connection: %v", err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d messages", n)
	}
}

func TestSMTPPoolBound(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{OnData: func(mailtest.Message) *mailtest.Reply {
		time.Sleep(2 * time.Millisecond) // keep sessions busy so they overlap
		return nil
	}})
	s := newTestSMTP(t, srv, func(c *SMTPConfig) { c.Connections = 4 })
	var wg sync.WaitGroup
	errs := make(chan error, 16*5)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				to := fmt.Sprintf("g%di%d@example.net", g, i)
				if err := s.Send(context.Background(), Envelope{From: "a@example.org", To: []string{to}}, encodeFor(t, to, false)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total, peak := srv.Sessions()
	if len(srv.Messages()) != 80 || peak > 4 || total > 4 {
		t.Errorf("%d messages, %d sessions, peak %d (want ≤ 4)", len(srv.Messages()), total, peak)
	}
	if peak < 2 {
		t.Errorf("peak %d: the pool did not send in parallel", peak)
	}
}

func TestSMTPRateLimit(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	s := newTestSMTP(t, srv, func(c *SMTPConfig) { c.Rate, c.Connections = 50, 4 })
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 11; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Send(context.Background(), Envelope{From: "a@example.org", To: []string{"b@example.net"}}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// 11 sends at 50/s: the first goes at once, the last no sooner than 200ms.
	if d := time.Since(start); d < 180*time.Millisecond {
		t.Errorf("11 messages at 50/s took %v, want ≥ 200ms", d)
	}
}

func TestSMTPContextCancel(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	s := newTestSMTP(t, srv, func(c *SMTPConfig) { c.Rate = 0.5 })
	env := Envelope{From: "a@example.org", To: []string{"b@example.net"}}
	if err := s.Send(context.Background(), env, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, env, []byte("Subject: x\r\n\r\nx\r\n"))
	if !errors.Is(err, context.DeadlineExceeded) || !IsTemporary(err) || time.Since(start) > time.Second {
		t.Errorf("err = %v after %v", err, time.Since(start))
	}
}

func TestSMTPConfigErrors(t *testing.T) {
	for _, cfg := range []SMTPConfig{
		{},
		{Host: "h", TLS: "ssl"},
		{Host: "h", Port: 70000},
		{Host: "h", Rate: -1},
	} {
		if _, err := NewSMTP(cfg, nil); err == nil {
			t.Errorf("NewSMTP(%+v) accepted", cfg)
		}
	}
}

func TestSMTPEnvelopeValidation(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	s := newTestSMTP(t, srv, nil)
	for _, env := range []Envelope{
		{From: "a@example.org"},
		{From: "a@example.org", To: []string{"b@example.net>\r\nRCPT TO:<c@example.net"}},
		{From: "a@example.org\r\n", To: []string{"b@example.net"}},
	} {
		if err := s.Send(context.Background(), env, []byte("x\r\n")); err == nil {
			t.Errorf("Send(%q) accepted", env)
		}
	}
}

func TestSMTPClosed(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	s := newTestSMTP(t, srv, nil)
	env := Envelope{From: "a@example.org", To: []string{"b@example.net"}}
	if err := s.Send(context.Background(), env, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), env, []byte("x\r\n")); !errors.Is(err, ErrClosed) {
		t.Errorf("err = %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for srv.Active() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := srv.Active(); n != 0 {
		t.Errorf("%d sessions still open after Close", n)
	}
}
