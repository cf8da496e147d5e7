package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"
)

func TestReplyClass(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"OK", nil, "2xx"},
		{"Temporary", func() error { se, _ := classify("RCPT TO", &textproto.Error{Code: 451, Msg: "4.7.1 later"}); return se }(), "4xx"},
		{"Permanent", func() error {
			se, _ := classify("RCPT TO", &textproto.Error{Code: 550, Msg: "5.1.1 no such user"})
			return se
		}(), "5xx"},
		{"Wrapped", fmt.Errorf("digest: %w", func() error { se, _ := classify("DATA", &textproto.Error{Code: 554}); return se }()), "5xx"},
		{"Network", func() error { se, _ := classify("MAIL FROM", io.EOF); return se }(), "network"},
		{"Local", func() error {
			// The outbox's folder vanished: a failure of this machine.
			dir := filepath.Join(t.TempDir(), "outbox")
			o, err := NewOutbox(dir, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			os.RemoveAll(dir)
			return o.Send(context.Background(), Envelope{From: "a@example.org", To: []string{"b@example.org"}}, []byte("x"))
		}(), "local"},
		{"ErrClosed", ErrClosed, "error"},
		{"ErrEnvelope", errors.New("mail: envelope has no recipients"), "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReplyClass(tt.err); got != tt.want {
				t.Errorf("ReplyClass(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
