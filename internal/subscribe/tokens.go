package subscribe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// Token kinds: a token of one kind never passes for another.
const (
	kindConfirm     byte = 'c'
	kindUnsubscribe byte = 'u'
	kindPreferences byte = 'p'
)

// tokenBound is the first byte of a bound token. Old-format tokens start
// with their kind, a letter, so the two never mix.
const tokenBound byte = 2

// macLen is the length of the truncated HMAC-SHA256 in a token: 128 bits.
const macLen = 16

// maxNewsletterID bounds the newsletter id a token may carry.
const maxNewsletterID = 64

// Tokens signs and verifies the links in Herald's mail: confirm (expires),
// unsubscribe (never expires, names a newsletter; "" means every one) and
// preferences (never expires). A token is base64url (no padding) of
// 0x02, kind, subscriber id (uvarint), expiry (uvarint Unix seconds, 0:
// never), the newsletter id, and the first 16 bytes of HMAC-SHA256 over
// the subscriber's link secret (length-prefixed) and all of that. The
// secret is random per row and dies with it, so a link never fits another
// row, not even one that came to have the same id (docs/ARCHITECTURE.md,
// "Subscriber links and ids"). The first key signs and every key verifies,
// so keys can rotate without breaking links already sent.
//
// The old format (no 0x02, no secret in the MAC) is still accepted for
// rows that existed when bound links came in (Subscriber.LegacyLinks):
// their links were mailed and must keep working.
type Tokens struct {
	keys [][]byte
}

// NewTokens returns a signer over keys (at least one, each non-empty);
// keys[0] signs. It panics without a key: that is a wiring mistake.
func NewTokens(keys [][]byte) *Tokens {
	if len(keys) == 0 {
		panic("subscribe: NewTokens without a key")
	}
	t := &Tokens{}
	for _, k := range keys {
		if len(k) == 0 {
			panic("subscribe: NewTokens with an empty key")
		}
		t.keys = append(t.keys, append([]byte(nil), k...))
	}
	return t
}

func (t *Tokens) sign(kind byte, id int64, secret []byte, expires time.Time, newsletter string) string {
	buf := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(newsletter)+macLen)
	buf = append(buf, tokenBound, kind)
	buf = binary.AppendUvarint(buf, uint64(id))
	var exp uint64
	if !expires.IsZero() {
		exp = uint64(expires.Unix())
	}
	buf = binary.AppendUvarint(buf, exp)
	buf = append(buf, newsletter...)
	buf = append(buf, mac(t.keys[0], secret, buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// mac is the token MAC of msg; secret (nil for the old format) goes first,
// length-prefixed, so no bytes can move between it and msg.
func mac(key, secret, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	if secret != nil {
		h.Write(binary.AppendUvarint(nil, uint64(len(secret))))
		h.Write(secret)
	}
	h.Write(msg)
	return h.Sum(nil)[:macLen]
}

func (t *Tokens) macOK(sum, secret, body []byte) bool {
	for _, k := range t.keys {
		if hmac.Equal(mac(k, secret, body), sum) {
			return true
		}
	}
	return false
}

// RowFunc returns the subscriber with id, for verifying a token bound to
// it; an unknown id is an error wrapping store.ErrNotFound.
type RowFunc func(id int64) (*Subscriber, error)

// verify decodes token, finds the row it names and checks the MAC against
// that row; a token for a row that is gone, or was never its row, is
// ErrInvalidToken.
func (t *Tokens) verify(token string, kind byte, row RowFunc) (sub *Subscriber, expires time.Time, newsletter string, err error) {
	fail := func() (*Subscriber, time.Time, string, error) { return nil, time.Time{}, "", ErrInvalidToken }
	if len(token) > 256 {
		return fail()
	}
	raw, derr := base64.RawURLEncoding.DecodeString(token)
	if derr != nil || len(raw) < 1+2+macLen {
		return fail()
	}
	body, sum := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	bound := body[0] == tokenBound
	fields := body
	if bound {
		fields = body[1:]
	}
	if len(fields) < 3 || fields[0] != kind {
		return fail()
	}
	rest := fields[1:]
	uid, n := binary.Uvarint(rest)
	if n <= 0 || uid == 0 || uid > 1<<62 {
		return fail()
	}
	rest = rest[n:]
	exp, n := binary.Uvarint(rest)
	if n <= 0 || exp > 1<<40 {
		return fail()
	}
	rest = rest[n:]
	if len(rest) > maxNewsletterID {
		return fail()
	}
	// An old-format MAC needs no row: check it before the lookup.
	if !bound && !t.macOK(sum, nil, body) {
		return fail()
	}
	sub, err = row(int64(uid))
	if errors.Is(err, store.ErrNotFound) {
		return fail()
	}
	if err != nil {
		return nil, time.Time{}, "", err
	}
	switch {
	case sub == nil || sub.ID != int64(uid):
		return fail()
	case bound && (len(sub.LinkSecret) == 0 || !t.macOK(sum, sub.LinkSecret, body)):
		return fail()
	case !bound && !sub.LegacyLinks:
		return fail()
	}
	if exp != 0 {
		expires = time.Unix(int64(exp), 0).UTC()
	}
	return sub, expires, string(rest), nil
}

// Confirm returns a confirmation token for subscriber id with its link
// secret, valid until expires.
func (t *Tokens) Confirm(id int64, secret []byte, expires time.Time) string {
	if expires.IsZero() {
		expires = time.Unix(1, 0) // a confirm token always expires
	}
	return t.sign(kindConfirm, id, secret, expires, "")
}

// Unsubscribe returns an unsubscribe token for subscriber id with its link
// secret and newsletter ("" unsubscribes from every newsletter). It never
// expires.
func (t *Tokens) Unsubscribe(id int64, secret []byte, newsletter string) string {
	return t.sign(kindUnsubscribe, id, secret, time.Time{}, newsletter)
}

// Preferences returns a preferences token for subscriber id with its link
// secret. It never expires.
func (t *Tokens) Preferences(id int64, secret []byte) string {
	return t.sign(kindPreferences, id, secret, time.Time{}, "")
}

// VerifyConfirm checks a confirmation token at now and returns the
// subscriber it is bound to. Errors: ErrInvalidToken, ErrExpiredToken,
// or row's.
func (t *Tokens) VerifyConfirm(token string, now time.Time, row RowFunc) (*Subscriber, error) {
	sub, exp, nl, err := t.verify(token, kindConfirm, row)
	if err != nil {
		return nil, err
	}
	if nl != "" || exp.IsZero() {
		return nil, ErrInvalidToken
	}
	if !now.Before(exp) {
		return nil, ErrExpiredToken
	}
	return sub, nil
}

// VerifyUnsubscribe checks an unsubscribe token and returns the
// subscriber it is bound to and the newsletter it names ("" for every
// newsletter).
func (t *Tokens) VerifyUnsubscribe(token string, row RowFunc) (sub *Subscriber, newsletter string, err error) {
	sub, exp, nl, err := t.verify(token, kindUnsubscribe, row)
	if err != nil {
		return nil, "", err
	}
	if !exp.IsZero() {
		return nil, "", ErrInvalidToken
	}
	return sub, nl, nil
}

// VerifyPreferences checks a preferences token and returns the subscriber
// it is bound to.
func (t *Tokens) VerifyPreferences(token string, row RowFunc) (*Subscriber, error) {
	sub, exp, nl, err := t.verify(token, kindPreferences, row)
	if err != nil {
		return nil, err
	}
	if !exp.IsZero() || nl != "" {
		return nil, ErrInvalidToken
	}
	return sub, nil
}

func link(baseURL, path, token string) string {
	return fmt.Sprintf("%s%s?token=%s", strings.TrimRight(baseURL, "/"), path, url.QueryEscape(token))
}

// ConfirmURL is the confirmation link: baseURL + /subscribe/confirm?token=.
func (t *Tokens) ConfirmURL(baseURL string, subscriberID int64, secret []byte, expires time.Time) string {
	return link(baseURL, "/subscribe/confirm", t.Confirm(subscriberID, secret, expires))
}

// UnsubscribeURL is the List-Unsubscribe link for one newsletter
// ("" for every newsletter): baseURL + /unsubscribe?token=.
func (t *Tokens) UnsubscribeURL(baseURL string, subscriberID int64, secret []byte, newsletter string) string {
	return link(baseURL, "/unsubscribe", t.Unsubscribe(subscriberID, secret, newsletter))
}

// PreferencesURL is the preferences link: baseURL + /preferences?token=.
func (t *Tokens) PreferencesURL(baseURL string, subscriberID int64, secret []byte) string {
	return link(baseURL, "/preferences", t.Preferences(subscriberID, secret))
}
