// Package subscribetest has helpers for tests of the subscriber flows: a
// Mailer that records what it is asked to send, and links as older
// Herald versions made them.
package subscribetest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/subscribe"
)

// Mailer records every Mail; Fail makes Send return an error.
type Mailer struct {
	mu    sync.Mutex
	mails []*subscribe.Mail
	Fail  error
	added chan struct{}
}

// NewMailer returns an empty recording Mailer.
func NewMailer() *Mailer { return &Mailer{added: make(chan struct{}, 1)} }

// Send records m.
func (m *Mailer) Send(ctx context.Context, mail *subscribe.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return m.Fail
	}
	cp := *mail
	m.mails = append(m.mails, &cp)
	select {
	case m.added <- struct{}{}:
	default:
	}
	return nil
}

// Mails returns what was sent so far.
func (m *Mailer) Mails() []*subscribe.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*subscribe.Mail(nil), m.mails...)
}

// Wait returns the n-th mail (from 1), waiting up to 10 s for it.
func (m *Mailer) Wait(t testing.TB, n int) *subscribe.Mail {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if ms := m.Mails(); len(ms) >= n {
			return ms[n-1]
		}
		select {
		case <-m.added:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("mail %d never came (have %d)", n, len(m.Mails()))
		}
	}
}

var linkRe = regexp.MustCompile(`https?://[^\s"<>]+`)

// Link returns the first link in text whose path is path.
func Link(text, path string) (string, error) {
	for _, l := range linkRe.FindAllString(text, -1) {
		if u, err := url.Parse(l); err == nil && u.Path == path {
			return l, nil
		}
	}
	return "", errors.New("no link to " + path)
}

// Token returns the token query parameter of link.
func Token(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get("token")
}

// OldFormatToken is a token as Herald made them before links were bound
// to a row: kind ('c' confirm, 'u' unsubscribe, 'p' preferences), id
// (uvarint), expiry (uvarint Unix seconds, 0: never), newsletter, and 16
// bytes of HMAC-SHA256 under key over those alone.
func OldFormatToken(key []byte, kind byte, id int64, expires time.Time, newsletter string) string {
	buf := []byte{kind}
	buf = binary.AppendUvarint(buf, uint64(id))
	var exp uint64
	if !expires.IsZero() {
		exp = uint64(expires.Unix())
	}
	buf = binary.AppendUvarint(buf, exp)
	buf = append(buf, newsletter...)
	h := hmac.New(sha256.New, key)
	h.Write(buf)
	return base64.RawURLEncoding.EncodeToString(append(buf, h.Sum(nil)[:16]...))
}
