package subscribe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Token kinds: the first byte of every token, so a token of one kind never
// passes for another.
const (
	kindConfirm     byte = 'c'
	kindUnsubscribe byte = 'u'
	kindPreferences byte = 'p'
)

// macLen is the length of the truncated HMAC-SHA256 in a token: 128 bits.
const macLen = 16

// maxNewsletterID bounds the newsletter id a token may carry.
const maxNewsletterID = 64

// Tokens signs and verifies the links in Herald's mail: confirm (expires),
// unsubscribe (never expires, names a newsletter; "" means every one) and
// preferences (never expires). A token is base64url (no padding) of
// kind, subscriber id (uvarint), expiry (uvarint Unix seconds, 0: never),
// the newsletter id, and the first 16 bytes of HMAC-SHA256 over all of
// that. The first key signs and every key verifies, so keys can rotate
// without breaking links already sent.
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

func (t *Tokens) sign(kind byte, id int64, expires time.Time, newsletter string) string {
	buf := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(newsletter)+macLen)
	buf = append(buf, kind)
	buf = binary.AppendUvarint(buf, uint64(id))
	var exp uint64
	if !expires.IsZero() {
		exp = uint64(expires.Unix())
	}
	buf = binary.AppendUvarint(buf, exp)
	buf = append(buf, newsletter...)
	buf = append(buf, mac(t.keys[0], buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)[:macLen]
}

// verify checks token's MAC with every key and its kind, and decodes it.
func (t *Tokens) verify(token string, kind byte) (id int64, expires time.Time, newsletter string, err error) {
	if len(token) > 256 {
		return 0, time.Time{}, "", ErrInvalidToken
	}
	raw, derr := base64.RawURLEncoding.DecodeString(token)
	if derr != nil || len(raw) < 1+2+macLen {
		return 0, time.Time{}, "", ErrInvalidToken
	}
	body, sum := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	ok := false
	for _, k := range t.keys {
		if hmac.Equal(mac(k, body), sum) {
			ok = true
			break
		}
	}
	if !ok || body[0] != kind {
		return 0, time.Time{}, "", ErrInvalidToken
	}
	rest := body[1:]
	uid, n := binary.Uvarint(rest)
	if n <= 0 || uid == 0 || uid > 1<<62 {
		return 0, time.Time{}, "", ErrInvalidToken
	}
	rest = rest[n:]
	exp, n := binary.Uvarint(rest)
	if n <= 0 || exp > 1<<40 {
		return 0, time.Time{}, "", ErrInvalidToken
	}
	rest = rest[n:]
	if len(rest) > maxNewsletterID {
		return 0, time.Time{}, "", ErrInvalidToken
	}
	if exp != 0 {
		expires = time.Unix(int64(exp), 0).UTC()
	}
	return int64(uid), expires, string(rest), nil
}

// Confirm returns a confirmation token for subscriber id, valid until expires.
func (t *Tokens) Confirm(id int64, expires time.Time) string {
	if expires.IsZero() {
		expires = time.Unix(1, 0) // a confirm token always expires
	}
	return t.sign(kindConfirm, id, expires, "")
}

// Unsubscribe returns an unsubscribe token for subscriber id and
// newsletter ("" unsubscribes from every newsletter). It never expires.
func (t *Tokens) Unsubscribe(id int64, newsletter string) string {
	return t.sign(kindUnsubscribe, id, time.Time{}, newsletter)
}

// Preferences returns a preferences token for subscriber id. It never expires.
func (t *Tokens) Preferences(id int64) string {
	return t.sign(kindPreferences, id, time.Time{}, "")
}

// VerifyConfirm checks a confirmation token at now and returns the
// subscriber id. Errors: ErrInvalidToken, ErrExpiredToken.
func (t *Tokens) VerifyConfirm(token string, now time.Time) (int64, error) {
	id, exp, nl, err := t.verify(token, kindConfirm)
	if err != nil {
		return 0, err
	}
	if nl != "" || exp.IsZero() {
		return 0, ErrInvalidToken
	}
	if !now.Before(exp) {
		return 0, ErrExpiredToken
	}
	return id, nil
}

// VerifyUnsubscribe checks an unsubscribe token and returns the
// subscriber id and the newsletter it names ("" for every newsletter).
func (t *Tokens) VerifyUnsubscribe(token string) (id int64, newsletter string, err error) {
	id, exp, nl, err := t.verify(token, kindUnsubscribe)
	if err != nil {
		return 0, "", err
	}
	if !exp.IsZero() {
		return 0, "", ErrInvalidToken
	}
	return id, nl, nil
}

// VerifyPreferences checks a preferences token and returns the subscriber id.
func (t *Tokens) VerifyPreferences(token string) (int64, error) {
	id, exp, nl, err := t.verify(token, kindPreferences)
	if err != nil {
		return 0, err
	}
	if !exp.IsZero() || nl != "" {
		return 0, ErrInvalidToken
	}
	return id, nil
}

func link(baseURL, path, token string) string {
	return fmt.Sprintf("%s%s?token=%s", strings.TrimRight(baseURL, "/"), path, url.QueryEscape(token))
}

// ConfirmURL is the confirmation link: baseURL + /subscribe/confirm?token=.
func (t *Tokens) ConfirmURL(baseURL string, subscriberID int64, expires time.Time) string {
	return link(baseURL, "/subscribe/confirm", t.Confirm(subscriberID, expires))
}

// UnsubscribeURL is the List-Unsubscribe link for one newsletter
// ("" for every newsletter): baseURL + /unsubscribe?token=.
func (t *Tokens) UnsubscribeURL(baseURL string, subscriberID int64, newsletter string) string {
	return link(baseURL, "/unsubscribe", t.Unsubscribe(subscriberID, newsletter))
}

// PreferencesURL is the preferences link: baseURL + /preferences?token=.
func (t *Tokens) PreferencesURL(baseURL string, subscriberID int64) string {
	return link(baseURL, "/preferences", t.Preferences(subscriberID))
}
