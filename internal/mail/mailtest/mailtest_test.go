package mailtest

import (
	"crypto/tls"
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
)

func TestServerRecordsMessages(t *testing.T) {
	s := NewServer(t, Options{})
	msg := "Subject: hi\r\n\r\n.leading dot\r\nbody\r\n"
	if err := smtp.SendMail(s.Addr, nil, "from@example.org", []string{"a@example.net", "b@example.net"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := s.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	if got[0].From != "from@example.org" || strings.Join(got[0].To, ",") != "a@example.net,b@example.net" || string(got[0].Data) != msg {
		t.Errorf("got %+v", got[0])
	}
	if total, peak := s.Sessions(); total != 1 || peak != 1 {
		t.Errorf("sessions %d peak %d", total, peak)
	}
}

func TestServerInjectsReplies(t *testing.T) {
	s := NewServer(t, Options{
		OnRcpt: func(_, to string) *Reply {
			if to == "gone@example.net" {
				return &Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
			}
			return nil
		},
		OnData: func(m Message) *Reply { return &Reply{Code: 451, Text: "try later"} },
	})
	err := smtp.SendMail(s.Addr, nil, "f@example.org", []string{"gone@example.net"}, []byte("x\r\n"))
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 550 || !strings.HasPrefix(te.Msg, "5.1.1") {
		t.Errorf("RCPT: %v", err)
	}
	err = smtp.SendMail(s.Addr, nil, "f@example.org", []string{"ok@example.net"}, []byte("x\r\n"))
	if !errors.As(err, &te) || te.Code != 451 {
		t.Errorf("DATA: %v", err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages recorded", n)
	}
}

func TestServerAuthAndSTARTTLS(t *testing.T) {
	s := NewServer(t, Options{Username: "u", Password: "p", TLS: SelfSigned(t)})
	dial := func() *smtp.Client {
		c, err := smtp.Dial(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := dial().Auth(smtp.PlainAuth("", "u", "wrong", "127.0.0.1")); err == nil {
		t.Error("wrong password accepted")
	}
	c := dial()
	if err := c.Mail("f@example.org"); err == nil {
		t.Error("MAIL before AUTH accepted")
	}
	if err := c.Auth(smtp.PlainAuth("", "u", "p", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("f@example.org"); err != nil {
		t.Fatal(err)
	}
}

func TestServer421ClosesConnection(t *testing.T) {
	s := NewServer(t, Options{OnRcpt: func(_, _ string) *Reply { return &Reply{Code: 421, Text: "bye"} }})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("f@example.org"); err != nil {
		t.Fatal(err)
	}
	var te *textproto.Error
	if err := c.Rcpt("a@example.net"); !errors.As(err, &te) || te.Code != 421 {
		t.Fatalf("RCPT: %v", err)
	}
	if err := c.Noop(); err == nil {
		t.Error("connection still open after 421")
	}
}
