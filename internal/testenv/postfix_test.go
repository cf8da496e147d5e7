package testenv_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/mail/mailtest"
	"github.com/herald-news/herald/internal/testenv"
)

// dsnRecipient is one per-recipient block of a message/delivery-status part.
type dsnRecipient struct {
	ReportType string // the report-type parameter of multipart/report
	Final      string // Final-Recipient address
	Action     string
	Status     string
	Diagnostic string
}

// parseDSN reads a DSN (RFC 3464) as Postfix writes it.
func parseDSN(data []byte) ([]dsnRecipient, error) {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	if mt != "multipart/report" {
		return nil, errors.New("not multipart/report: " + mt)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var out []dsnRecipient
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if pt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); pt != "message/delivery-status" {
			continue
		}
		tr := textproto.NewReader(bufio.NewReader(part))
		if _, err := tr.ReadMIMEHeader(); err != nil { // per-message fields
			return nil, err
		}
		for {
			h, err := tr.ReadMIMEHeader()
			if len(h) > 0 {
				final := h.Get("Final-Recipient")
				final = strings.TrimSpace(final[strings.Index(final, ";")+1:])
				out = append(out, dsnRecipient{
					ReportType: params["report-type"],
					Final:      final,
					Action:     h.Get("Action"),
					Status:     h.Get("Status"),
					Diagnostic: h.Get("Diagnostic-Code"),
				})
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
		}
	}
}

// waitDSN waits for a DSN to verp about rcpt with the given action.
func waitDSN(t *testing.T, sink *mailtest.Server, verp, rcpt, action string) dsnRecipient {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range sink.Messages() {
			if m.From != "" || !slices.Equal(m.To, []string{verp}) {
				continue
			}
			rs, err := parseDSN(m.Data)
			if err != nil {
				t.Fatalf("DSN to %s: %v\n%s", verp, err, m.Data)
			}
			for _, r := range rs {
				if strings.EqualFold(r.Final, rcpt) && r.Action == action {
					return r
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %q DSN for %s reached %s; bounce sink holds %d messages", action, rcpt, verp, len(sink.Messages()))
	return dsnRecipient{}
}

func send(t *testing.T, addr, from string, to ...string) {
	t.Helper()
	msg := "From: Herald <news@herald.test>\r\nTo: subscribers\r\nSubject: digest\r\nMessage-ID: <" + from + ">\r\n\r\nhello\r\n"
	if err := smtp.SendMail(addr, nil, from, to, []byte(msg)); err != nil {
		t.Fatalf("send through postfix: %v", err)
	}
}

func TestPostfix(t *testing.T) {
	inbox := mailtest.NewServer(t, mailtest.Options{})
	// A relay that takes the whole message and then refuses it.
	refusing := mailtest.NewServer(t, mailtest.Options{
		OnData: func(mailtest.Message) *mailtest.Reply {
			return &mailtest.Reply{Code: 550, Enhanced: [3]int{5, 7, 1}, Text: "content refused"}
		},
	})
	bounces := mailtest.NewServer(t, mailtest.Options{})
	pf := testenv.Postfix(t, testenv.PostfixOptions{
		Relay: map[string]string{
			"example.test": inbox.Addr,
			"refuse.test":  refusing.Addr,
			"bounce.test":  bounces.Addr,
		},
		Fail:          map[string]string{"gone@example.test": "5.1.1 no such user"},
		Defer:         map[string]string{"full@example.test": "4.2.2 mailbox full"},
		DelayWarning:  time.Second,
		QueueLifetime: 4 * time.Second,
	})
	t.Cleanup(func() {
		if t.Failed() {
			return // Postfix logs on its own then
		}
		if logs := pf.Logs(); !strings.Contains(logs, "postfix/qmgr") || strings.Contains(logs, "warning:") {
			t.Errorf("Logs: no qmgr lines, or warnings:\n%s", logs)
		}
	})

	send(t, pf.Addr(), "bounces+abc@bounce.test", "ok@example.test", "gone@example.test", "who@refuse.test")
	send(t, pf.Addr(), "bounces+def@bounce.test", "full@example.test")

	t.Run("OK", func(t *testing.T) {
		msgs := inbox.WaitMessages(1, 20*time.Second)
		if len(msgs) != 1 || msgs[0].From != "bounces+abc@bounce.test" || !slices.Equal(msgs[0].To, []string{"ok@example.test"}) {
			t.Fatalf("inbox: %+v", msgs)
		}
	})
	t.Run("ErrTransport", func(t *testing.T) {
		r := waitDSN(t, bounces, "bounces+abc@bounce.test", "gone@example.test", "failed")
		if r.ReportType != "delivery-status" || r.Status != "5.1.1" {
			t.Errorf("DSN %+v", r)
		}
	})
	t.Run("Err550AfterData", func(t *testing.T) {
		r := waitDSN(t, bounces, "bounces+abc@bounce.test", "who@refuse.test", "failed")
		if r.Status != "5.7.1" || !strings.Contains(r.Diagnostic, "550 5.7.1 content refused") {
			t.Errorf("DSN %+v", r)
		}
	})
	t.Run("ErrDelayed", func(t *testing.T) {
		pf.Flush(t)
		r := waitDSN(t, bounces, "bounces+def@bounce.test", "full@example.test", "delayed")
		if r.ReportType != "delivery-status" || r.Status != "4.2.2" {
			t.Errorf("DSN %+v", r)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		r := waitDSN(t, bounces, "bounces+def@bounce.test", "full@example.test", "failed")
		if r.Status != "4.2.2" {
			t.Errorf("DSN %+v", r)
		}
	})
}
