package mail

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/testenv"
)

// startSink runs postfix's smtp-sink on a free loopback port with args and
// returns its port and the directory it dumps messages into.
func startSink(t *testing.T, args ...string) (int, string) { return startSinkTB(t, args...) }

func startSinkTB(t testing.TB, args ...string) (int, string) {
	t.Helper()
	bin := testenv.Need(t, "smtp-sink")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	// Not under t.TempDir, whose parent is private: smtp-sink writes as
	// nobody under root.
	dump, err := os.MkdirTemp("", "herald-sink-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dump) })
	if err := os.Chmod(dump, 0o777); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	args = append(args, "-d", filepath.Join(dump, "m."), "127.0.0.1:"+strconv.Itoa(port), "16")
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ { // wait until it listens
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			_ = c.Close()
			break
		}
		if i == 200 {
			t.Fatalf("smtp-sink does not listen: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return port, dump
}

func newSinkSMTP(t *testing.T, port int, lockStep bool) *SMTP {
	t.Helper()
	s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: "none", HELO: "herald.test", Timeout: 5 * time.Second, Connections: 2, lockStep: lockStep}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSMTPSink delivers to a real server, postfix's smtp-sink, that offers
// PIPELINING and, with -p, one that does not: the transport pipelines only
// when offered, and the content arrives intact either way.
func TestSMTPSink(t *testing.T) {
	raw := []byte("From: a@example.org\r\nTo: b@example.net\r\nSubject: dots\r\n\r\n.leading dot\r\n..two\r\nbare LF\nend\r\n.")
	tests := []struct {
		name      string
		args      []string
		lockStep  bool
		pipelined bool
	}{
		{"OK", nil, false, true},
		{"OKLockStepOffered", nil, true, false},
		{"OKNotOffered", []string{"-p"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, dump := startSink(t, tt.args...)
			s := newSinkSMTP(t, port, tt.lockStep)
			for i := range 3 {
				to := "r" + strconv.Itoa(i) + "@example.net"
				if err := s.Send(context.Background(), Envelope{From: "bounce@example.org", To: []string{to}}, raw); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			s.mu.Lock()
			pipelined := s.idle[0].pipelining
			s.mu.Unlock()
			if pipelined != tt.pipelined {
				t.Errorf("pipelining = %v, want %v", pipelined, tt.pipelined)
			}
			s.Close() // QUIT: smtp-sink finishes its dump files
			files, _ := filepath.Glob(filepath.Join(dump, "m.*"))
			if len(files) != 3 {
				t.Fatalf("%d dumped messages, want 3", len(files))
			}
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(string(b), "\r\n", "\n")
			if !strings.Contains(got, "\n\n.leading dot\n..two\nbare LF\nend\n.\n") {
				t.Errorf("dumped message:\n%s", got)
			}
		})
	}
}

// TestSMTPSinkFaults makes smtp-sink fail the way relays do, with and
// without PIPELINING (-f and -r imply -p: smtp-sink then does not offer it).
func TestSMTPSinkFaults(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		code      int
		temporary bool
	}{
		{"ErrRcpt421Pipelining", []string{"-Q", "RCPT"}, 421, true},
		{"ErrRcpt421LockStep", []string{"-p", "-Q", "RCPT"}, 421, true},
		{"ErrDropAtDotPipelining", []string{"-q", "."}, 0, true},
		{"ErrDropAtDotLockStep", []string{"-p", "-q", "."}, 0, true},
		{"ErrData421Pipelining", []string{"-Q", "DATA"}, 421, true},
		{"ErrRcpt5xxLockStep", []string{"-f", "RCPT"}, 500, false},
		{"ErrRcpt4xxLockStep", []string{"-r", "RCPT"}, 450, true},
		{"ErrEndOfData5xxLockStep", []string{"-f", "."}, 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, _ := startSink(t, tt.args...)
			s := newSinkSMTP(t, port, false)
			for i := range 2 { // the second send runs on the kept or a fresh connection
				err := s.Send(context.Background(), Envelope{From: "bounce@example.org", To: []string{"x@example.net"}}, encodeFor(t, "x@example.net", false))
				var se *SendError
				if !errors.As(err, &se) {
					t.Fatalf("send %d: err = %v, want *SendError", i, err)
				}
				if se.Code != tt.code || IsTemporary(err) != tt.temporary || IsPermanent(err) == tt.temporary {
					t.Errorf("send %d: err = %v: code %d temporary %v permanent %v", i, err, se.Code, IsTemporary(err), IsPermanent(err))
				}
			}
		})
	}
}

// BenchmarkSMTPSink sends a digest-sized message per op to smtp-sink over
// one reused connection: run with -benchmem for the transport's per-message
// allocations (smtp-sink is another process, so they are Herald's alone).
func BenchmarkSMTPSink(b *testing.B) {
	raw, err := Encode(sampleMessage())
	if err != nil {
		b.Fatal(err)
	}
	raw = append(raw, strings.Repeat("digest body line, quoted-printable as sent=\r\n", 9000/48)...)
	for _, mode := range []struct {
		name     string
		lockStep bool
	}{{"Pipelining", false}, {"LockStep", true}} {
		b.Run(mode.name, func(b *testing.B) {
			port, _ := startSinkTB(b)
			s, err := NewSMTP(SMTPConfig{Host: "127.0.0.1", Port: port, TLS: "none", HELO: "herald.test", Timeout: 5 * time.Second, Connections: 1, lockStep: mode.lockStep}, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			env := Envelope{From: "bounce@example.org", To: []string{"reader@example.net"}}
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Send(context.Background(), env, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestReadReply checks the allocation-free reply reader against
// textproto.ReadResponse, whose results classify relies on.
func TestReadReply(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		expect int
	}{
		{"OK", "250 2.1.0 Ok\r\n", 250},
		{"OKTwoDigit", "251 forwarded\r\n", 25},
		{"OKMultiLine", "250-first\r\n250-second\r\n250 last\r\n", 250},
		{"OKData", "354 go ahead\r\n", 354},
		{"OKBareLF", "250 ok\n", 250},
		{"ErrRcpt550", "550 5.1.1 no such user\r\n", 25},
		{"ErrMultiLine451", "451-4.7.1 greylisted\r\n451 4.7.1 try later\r\n", 250},
		{"ErrUnexpected2xx", "250 ok\r\n", 354},
		{"ErrShort", "25\r\n", 250},
		{"ErrBadSeparator", "250x\r\n", 250},
		{"ErrNotDigits", "2x0 ok\r\n", 250},
		{"ErrMixedCodes", "250-a\r\n251 b\r\n", 250},
		{"ErrEOF", "250 trunc", 250},
		{"ErrEmpty", "", 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := readReply(bufio.NewReader(strings.NewReader(tt.in)), tt.expect)
			wcode, _, werr := textproto.NewReader(bufio.NewReader(strings.NewReader(tt.in))).ReadResponse(tt.expect)
			var te, wte *textproto.Error
			var pe, wpe textproto.ProtocolError
			switch {
			case errors.As(werr, &wte):
				if !errors.As(err, &te) || *te != *wte {
					t.Errorf("err = %#v, want %#v", err, werr)
				}
			case errors.As(werr, &wpe):
				if !errors.As(err, &pe) {
					t.Errorf("err = %#v, want a ProtocolError (%v)", err, werr)
				}
			case werr != nil:
				if err == nil || err.Error() != werr.Error() {
					t.Errorf("err = %v, want %v", err, werr)
				}
			case err != nil:
				t.Errorf("err = %v, want nil", err)
			}
			if werr == nil && code != wcode {
				t.Errorf("code = %d, want %d", code, wcode)
			}
		})
	}
}
