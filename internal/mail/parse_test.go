package mail

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
)

// parsed is a message as a mail reader sees it: decoded headers and bodies.
type parsed struct {
	Header  netmail.Header
	Subject string
	From    *netmail.Address
	To      *netmail.Address
	Types   []string // content types of the parts in order
	Text    string
	HTML    string
}

// parseMail decodes raw with net/mail, mime/multipart and
// mime/quotedprintable (the standard library is the judge, not our code).
func parseMail(raw []byte) (*parsed, error) {
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			return nil, fmt.Errorf("line %d is %d bytes long", i, len(line))
		}
	}
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	p := &parsed{Header: m.Header}
	dec := new(mime.WordDecoder)
	if p.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	for _, f := range []struct {
		name string
		dst  **netmail.Address
	}{{"From", &p.From}, {"To", &p.To}} {
		list, err := m.Header.AddressList(f.name)
		if err != nil || len(list) != 1 {
			return nil, fmt.Errorf("%s: %d addresses, %v", f.name, len(list), err)
		}
		*f.dst = list[0]
	}
	if _, err := m.Header.Date(); err != nil {
		return nil, fmt.Errorf("date: %w", err)
	}
	if v := m.Header.Get("MIME-Version"); v != "1.0" {
		return nil, fmt.Errorf("MIME-Version %q", v)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("content-type: %w", err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		body, err := decodePart(m.Header.Get("Content-Transfer-Encoding"), m.Body)
		if err != nil {
			return nil, err
		}
		p.Types = []string{mt}
		p.Text = body
		return p, nil
	}
	if mt != "multipart/alternative" {
		return nil, fmt.Errorf("unexpected %s", mt)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("multipart: %w", err)
		}
		pt, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			return nil, fmt.Errorf("part content-type: %w", err)
		}
		body, err := decodePart(part.Header.Get("Content-Transfer-Encoding"), part)
		if err != nil {
			return nil, err
		}
		p.Types = append(p.Types, pt)
		switch pt {
		case "text/plain":
			p.Text = body
		case "text/html":
			p.HTML = body
		}
	}
	return p, nil
}

func decodePart(cte string, r io.Reader) (string, error) {
	if !strings.EqualFold(cte, "quoted-printable") {
		return "", fmt.Errorf("transfer encoding %q, want quoted-printable", cte)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 76 {
			return "", fmt.Errorf("quoted-printable line %d is %d bytes: %q", i, len(line), line)
		}
	}
	b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return "", fmt.Errorf("quoted-printable: %w", err)
	}
	return string(b), nil
}

func mustParse(t testing.TB, raw []byte) *parsed {
	t.Helper()
	p, err := parseMail(raw)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	return p
}
