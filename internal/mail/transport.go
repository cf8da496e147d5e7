package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strings"
	"syscall"
)

// Envelope is the SMTP envelope: MAIL FROM (the return path, which receives
// bounces; mail.return_path or else the From address) and RCPT TO. The
// message bytes do not carry it.
type Envelope struct {
	From string
	To   []string
}

func (e Envelope) validate() error {
	if e.From != "" { // "" is the null return path <>
		if err := checkEmail("envelope from", e.From); err != nil {
			return err
		}
	}
	if len(e.To) == 0 {
		return errors.New("mail: envelope has no recipients")
	}
	for _, to := range e.To {
		if err := checkEmail("envelope to", to); err != nil {
			return err
		}
	}
	return nil
}

// Sender delivers encoded messages. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, env Envelope, raw []byte) error
	Close() error
}

// SendError is a failed delivery attempt with the server's reply, if any.
// Code 0 means there was no reply (a network error or timeout).
type SendError struct {
	Code      int    // SMTP reply code, e.g. 550; 0 without a reply
	Enhanced  string // RFC 3463 status such as "5.1.1", when the server sent one
	Msg       string // the server's reply text
	Temporary bool   // retrying later may succeed
	Err       error
}

// Error names the SMTP step and the reply (textproto formats "550 text").
func (e *SendError) Error() string { return "mail: send: " + e.Err.Error() }

func (e *SendError) Unwrap() error { return e.Err }

// IsPermanent reports a 5xx reply: the same message to the same address will
// fail again, so the delivery counts toward marking the address bounced.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && !se.Temporary && se.Code >= 500 && se.Code < 600
}

// IsTemporary reports a 4xx reply or a failure without a reply (network
// errors, timeouts, a dropped connection): retry later on a fresh connection.
// go-mail itself reports EOF and broken pipes as non-temporary with code 0;
// Herald treats them as the transient faults they are.
func IsTemporary(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Temporary
}

// classify turns an error from one SMTP step into a *SendError. The bool
// reports whether the connection is still usable (the server replied and did
// not announce it is closing).
func classify(step string, err error) (*SendError, bool) {
	var te *textproto.Error
	if errors.As(err, &te) {
		se := &SendError{
			Code: te.Code, Msg: te.Msg, Enhanced: enhancedCode(te.Msg),
			Temporary: te.Code >= 400 && te.Code < 500,
			Err:       fmt.Errorf("%s: %w", step, err),
		}
		return se, te.Code != 421
	}
	return &SendError{Temporary: isNetworkError(err), Err: fmt.Errorf("%s: %w", step, err)}, false
}

// isNetworkError reports failures of the connection rather than of the
// message: worth a redial and a retry.
func isNetworkError(err error) bool {
	var ne net.Error
	var pe textproto.ProtocolError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) || errors.As(err, &pe) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// enhancedCode extracts a leading RFC 3463 status ("5.1.1") from reply text.
func enhancedCode(msg string) string {
	f, _, _ := strings.Cut(msg, " ")
	parts := strings.Split(f, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return ""
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return ""
		}
	}
	return f
}
