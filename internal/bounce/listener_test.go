package bounce

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// recorder is the MailHandler the integration will write, kept in memory.
type recorder struct {
	mu     sync.Mutex
	events []Event
	kept   []string
	fail   error
	rows   secrets
}

func (r *recorder) HandleEvent(_ context.Context, ev Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) Keep(_ context.Context, id string, raw []byte, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kept = append(r.kept, reason)
	return nil
}

func (r *recorder) LinkSecret(_ context.Context, id int64) ([]byte, bool, error) {
	return r.rows.get(id)
}

func (r *recorder) snapshot() ([]Event, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...), append([]string(nil), r.kept...)
}

const testDomain = "news.example.com"

// startListener serves on a loopback port until the test ends.
func startListener(t *testing.T, cfg ListenerConfig, h *recorder) (*Tokens, string) {
	t.Helper()
	tk := NewTokens([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	cfg.Domain = testDomain
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewListener(cfg, tk, h, nil).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return tk, ln.Addr().String()
}

// send runs one SMTP transaction; the error is the server's reply.
func send(t *testing.T, addr, rcpt string, msg []byte) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mx.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestListener(t *testing.T) {
	sec := []byte("secret-42")
	t.Run("OK", func(t *testing.T) {
		h := &recorder{rows: secrets{42: sec}}
		tk, addr := startListener(t, ListenerConfig{}, h)
		tok, _ := tk.Delivery(7, 42, sec)
		rcpt := strings.ToUpper(ReturnPath(tok, testDomain)) // case folded on the way
		for range 2 {
			if err := send(t, addr, rcpt, fixture(t, "postfix-hard.eml")); err != nil {
				t.Fatal(err)
			}
		}
		ev, kept := h.snapshot()
		if len(ev) != 2 || len(kept) != 0 {
			t.Fatalf("events %+v, kept %v", ev, kept)
		}
		want := Token{Kind: KindDelivery, RunID: 7, SubscriberID: 42}
		if e := ev[0]; e.Class != Hard || e.Token == nil || *e.Token != want || e.Email != "nobody@example.net" || e.Status != "5.1.1" || e.Source != "smtp" {
			t.Fatalf("event %+v", e)
		}
		if ev[0].ID == "" || ev[0].ID != ev[1].ID {
			t.Fatalf("a resent message has ids %q and %q; want one idempotency key", ev[0].ID, ev[1].ID)
		}
	})
	t.Run("OKUnsubscribe", func(t *testing.T) {
		h := &recorder{rows: secrets{42: sec}}
		tk, addr := startListener(t, ListenerConfig{}, h)
		tok, _ := tk.Unsubscribe(42, "weekly", sec)
		if err := send(t, addr, UnsubscribeAddress(tok, testDomain), []byte("Subject: unsubscribe\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		ev, _ := h.snapshot()
		if len(ev) != 1 || ev[0].Class != Unsubscribe || ev[0].Token.Newsletter != "weekly" || ev[0].Token.SubscriberID != 42 {
			t.Fatalf("events %+v", ev)
		}
	})
	t.Run("OKKeepsUnknown", func(t *testing.T) {
		h := &recorder{rows: secrets{42: sec}}
		tk, addr := startListener(t, ListenerConfig{}, h)
		tok, _ := tk.SubscriberMail(42, "welcome", sec)
		for _, f := range []string{"human-reply.eml", "autoreply-outlook.eml"} {
			if err := send(t, addr, ReturnPath(tok, testDomain), fixture(t, f)); err != nil {
				t.Fatal(err)
			}
		}
		ev, kept := h.snapshot()
		if len(ev) != 0 || len(kept) != 1 {
			t.Fatalf("events %+v, kept %v; want the human reply kept and the auto-reply ignored", ev, kept)
		}
	})
	t.Run("Err550", func(t *testing.T) {
		h := &recorder{rows: secrets{42: sec}}
		tk, addr := startListener(t, ListenerConfig{}, h)
		good, _ := tk.Delivery(7, 42, sec)
		forged, _ := NewTokens([][]byte{[]byte("not the key, but 32 bytes long..")}).Delivery(7, 42, sec)
		for name, rcpt := range map[string]string{
			"Relay":      "someone@elsewhere.example",
			"RelayToken": ReturnPath(good, "elsewhere.example"),
			"Mailbox":    "postmaster@" + testDomain,
			"Forged":     ReturnPath(forged, testDomain),
			"Garbage":    "bounces+zzzz@" + testDomain,
		} {
			t.Run(name, func(t *testing.T) {
				if err := send(t, addr, rcpt, []byte("Subject: x\r\n\r\nx\r\n")); code(err) != 550 {
					t.Fatalf("RCPT %s: %v; want 550", rcpt, err)
				}
			})
		}
		if ev, kept := h.snapshot(); len(ev)+len(kept) != 0 {
			t.Fatalf("refused mail reached the handler: %+v %v", ev, kept)
		}
	})
	t.Run("ErrHandler451", func(t *testing.T) {
		h := &recorder{rows: secrets{42: sec}, fail: errors.New("store down")}
		tk, addr := startListener(t, ListenerConfig{}, h)
		tok, _ := tk.Delivery(7, 42, sec)
		if err := send(t, addr, ReturnPath(tok, testDomain), fixture(t, "postfix-hard.eml")); code(err) != 451 {
			t.Fatalf("err %v; want 451 so the sender retries", err)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		h := &recorder{rows: secrets{42: sec}}
		tk, addr := startListener(t, ListenerConfig{MaxMessageBytes: 1024}, h)
		tok, _ := tk.Delivery(7, 42, sec)
		if err := send(t, addr, ReturnPath(tok, testDomain), fixture(t, "postfix-hard.eml")); code(err) != 552 {
			t.Fatalf("err %v; want 552", err)
		}
		if ev, kept := h.snapshot(); len(ev)+len(kept) != 0 {
			t.Fatalf("oversized mail reached the handler: %+v %v", ev, kept)
		}
	})
	t.Run("ErrTooManyConnections", func(t *testing.T) {
		_, addr := startListener(t, ListenerConfig{MaxConns: 1}, &recorder{})
		first, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		if err := first.Hello("a.example"); err != nil { // the slot is taken
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		if !strings.HasPrefix(line, "421 ") {
			t.Fatalf("second connection greeted with %q; want 421", line)
		}
	})
	t.Run("ErrSessionTimeout", func(t *testing.T) {
		_, addr := startListener(t, ListenerConfig{SessionTimeout: 50 * time.Millisecond}, &recorder{})
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A client that never sends anything is cut off: the read ends
		// (421 then EOF) instead of waiting for the test's own deadline.
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		var got []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("server kept an idle connection open; read %q", got)
				}
				break
			}
			got = append(got, line)
		}
		if len(got) < 2 || !strings.HasPrefix(got[len(got)-1], "421 ") {
			t.Fatalf("read %q; want the greeting then 421", got)
		}
	})
	t.Run("OKShutdownClosesConnections", func(t *testing.T) {
		tk := NewTokens([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- NewListener(ListenerConfig{Domain: testDomain}, tk, &recorder{}, nil).Serve(ctx, ln)
		}()
		c, err := smtp.Dial(ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("a.example"); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Serve after shutdown: %v", err)
		}
		if err := c.Noop(); err == nil {
			t.Fatal("connection still served after shutdown")
		}
	})
}

// counting wraps a recorder and counts secret lookups.
type counting struct {
	*recorder
	lookups int
	mu      sync.Mutex
}

func (c *counting) LinkSecret(ctx context.Context, id int64) ([]byte, bool, error) {
	c.mu.Lock()
	c.lookups++
	c.mu.Unlock()
	return c.recorder.LinkSecret(ctx, id)
}

func TestListenerBadRecipientsBounded(t *testing.T) {
	tk := NewTokens([][]byte{[]byte("0123456789abcdef0123456789abcdef")})
	h := &counting{recorder: &recorder{rows: secrets{42: []byte("s")}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewListener(ListenerConfig{Domain: testDomain}, tk, h, nil).Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c, err := smtp.Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("", nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxBadRcpt {
		// Decodes (so it costs a lookup) but was signed with the wrong secret.
		forged, _ := tk.Delivery(int64(i+1), 42, []byte("not the secret"))
		if err := c.Rcpt(ReturnPath(forged, testDomain), nil); code(err) != 550 {
			t.Fatalf("RCPT %d: %v", i, err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lookups != maxBadRcpt {
		t.Fatalf("%d lookups for %d forged recipients; want at most %d", h.lookups, 3*maxBadRcpt, maxBadRcpt)
	}
}
