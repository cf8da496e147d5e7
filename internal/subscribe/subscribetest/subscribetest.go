// Package subscribetest has helpers for tests of the subscriber flows: a
// Mailer that records what it is asked to send.
package subscribetest

import (
	"context"
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
