package mail

import (
	"errors"
	"fmt"
	"io"
	"net/textproto"
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
