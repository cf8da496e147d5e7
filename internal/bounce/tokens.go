package bounce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Kind says what a VERP token names.
type Kind byte

// Token kinds; a token of one kind never passes for another.
const (
	// KindDelivery names one delivery: a run and a subscriber.
	KindDelivery Kind = 'd'
	// KindMail names mail to one subscriber outside a run (confirmation,
	// welcome, test); MailKind says which.
	KindMail Kind = 'm'
	// KindUnsubscribe is the mailto: List-Unsubscribe alternative; it
	// names the subscriber and the newsletter ("" for every one).
	KindUnsubscribe Kind = 'u'
)

// Address local-part prefixes.
const (
	BouncePrefix      = "bounces+"
	UnsubscribePrefix = "unsubscribe+"
)

// maxLocal is RFC 5321's limit on a local part, in octets.
const maxLocal = 64

// macLen is the truncated HMAC in a VERP token: 80 bits. A forger gets one
// guess per RCPT over SMTP, so this is ample and keeps addresses short.
const macLen = 10

// b32 is lowercase base32 without padding: some MTAs change the case of
// local parts, and lowercase survives being folded either way.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ErrInvalidToken is any token that does not decode or verify.
var ErrInvalidToken = errors.New("bounce: invalid token")

// ErrTokenTooLong means the address would not fit RFC 5321's 64-octet
// local part (a long newsletter or mail kind); the caller leaves the
// address out instead.
var ErrTokenTooLong = errors.New("bounce: token does not fit a local part")

// Token is what a VERP address names once verified.
type Token struct {
	Kind         Kind
	RunID        int64  // KindDelivery
	SubscriberID int64  // every kind
	MailKind     string // KindMail: "confirm", "welcome", "test", …
	Newsletter   string // KindUnsubscribe: "" means every newsletter
}

// SecretFunc returns the link secret of subscriber id (the same per-row
// secret the subscribe links are bound to, so a token never fits a row
// that later came to have the same id). ok is false when the subscriber
// does not exist; err is for a failed lookup.
type SecretFunc func(subscriberID int64) (secret []byte, ok bool, err error)

// Tokens signs and verifies VERP tokens with secrets.token_keys: the first
// key signs and every key verifies, so keys rotate without breaking
// addresses already in flight. The keys are never used directly: each is
// first turned into a VERP-only key, so no token from another part of
// Herald can pass here or the other way round.
//
// A token is lowercase base32 of kind, subscriber id (uvarint), the run id
// (uvarint, KindDelivery) or a string (MailKind, Newsletter), then the
// first 10 bytes of HMAC-SHA256 over the subscriber's link secret
// (length-prefixed) and all of that.
type Tokens struct {
	keys [][]byte
}

// NewTokens returns a signer over keys (at least one, each non-empty). It
// panics without a key: that is a wiring mistake.
func NewTokens(keys [][]byte) *Tokens {
	if len(keys) == 0 {
		panic("bounce: NewTokens without a key")
	}
	t := &Tokens{}
	for _, k := range keys {
		if len(k) == 0 {
			panic("bounce: NewTokens with an empty key")
		}
		h := hmac.New(sha256.New, k)
		h.Write([]byte("herald verp token v1"))
		t.keys = append(t.keys, h.Sum(nil))
	}
	return t
}

func mac(key, secret, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(binary.AppendUvarint(nil, uint64(len(secret))))
	h.Write(secret)
	h.Write(msg)
	return h.Sum(nil)[:macLen]
}

func (t *Tokens) sign(prefix string, tok Token, secret []byte) (string, error) {
	if tok.SubscriberID <= 0 || tok.RunID < 0 {
		return "", fmt.Errorf("bounce: token for subscriber %d, run %d: %w", tok.SubscriberID, tok.RunID, ErrInvalidToken)
	}
	buf := []byte{byte(tok.Kind)}
	buf = binary.AppendUvarint(buf, uint64(tok.SubscriberID))
	switch tok.Kind {
	case KindDelivery:
		if tok.RunID <= 0 {
			return "", fmt.Errorf("bounce: delivery token without a run: %w", ErrInvalidToken)
		}
		buf = binary.AppendUvarint(buf, uint64(tok.RunID))
	case KindMail:
		buf = append(buf, tok.MailKind...)
	case KindUnsubscribe:
		buf = append(buf, tok.Newsletter...)
	default:
		return "", fmt.Errorf("bounce: token kind %q: %w", tok.Kind, ErrInvalidToken)
	}
	buf = append(buf, mac(t.keys[0], secret, buf)...)
	s := b32.EncodeToString(buf)
	if len(prefix)+len(s) > maxLocal {
		return "", ErrTokenTooLong
	}
	return s, nil
}

// Delivery returns the token for the delivery of run to subscriber.
func (t *Tokens) Delivery(runID, subscriberID int64, secret []byte) (string, error) {
	return t.sign(BouncePrefix, Token{Kind: KindDelivery, RunID: runID, SubscriberID: subscriberID}, secret)
}

// SubscriberMail returns the token for mail of kind sent to subscriber
// outside a run.
func (t *Tokens) SubscriberMail(subscriberID int64, kind string, secret []byte) (string, error) {
	return t.sign(BouncePrefix, Token{Kind: KindMail, SubscriberID: subscriberID, MailKind: kind}, secret)
}

// Unsubscribe returns the token of the mailto: unsubscribe address for
// subscriber and newsletter ("" for all). A newsletter id too long for the
// local part is ErrTokenTooLong.
func (t *Tokens) Unsubscribe(subscriberID int64, newsletter string, secret []byte) (string, error) {
	return t.sign(UnsubscribePrefix, Token{Kind: KindUnsubscribe, SubscriberID: subscriberID, Newsletter: newsletter}, secret)
}

// ReturnPath is the envelope sender carrying token: bounces+{token}@domain.
func ReturnPath(token, domain string) string { return BouncePrefix + token + "@" + domain }

// UnsubscribeAddress is the List-Unsubscribe mailto: address for token.
func UnsubscribeAddress(token, domain string) string {
	return UnsubscribePrefix + token + "@" + domain
}

// maxString bounds the string field of a token: a local part has room
// for no more.
const maxString = maxLocal

// Decode parses token without checking its MAC: the caller needs the
// subscriber id to find the secret to verify with. It never trusts what
// it returns; use Verify.
func Decode(token string) (tok Token, body, sum []byte, err error) {
	if len(token) > maxLocal || len(token) == 0 {
		return Token{}, nil, nil, ErrInvalidToken
	}
	raw, err := b32.DecodeString(strings.ToLower(token))
	if err != nil || len(raw) < 2+macLen {
		return Token{}, nil, nil, ErrInvalidToken
	}
	body, sum = raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	tok.Kind = Kind(body[0])
	rest := body[1:]
	sub, n := binary.Uvarint(rest)
	if n <= 0 || sub == 0 || sub > 1<<62 {
		return Token{}, nil, nil, ErrInvalidToken
	}
	tok.SubscriberID = int64(sub)
	rest = rest[n:]
	switch tok.Kind {
	case KindDelivery:
		run, n := binary.Uvarint(rest)
		if n <= 0 || n != len(rest) || run == 0 || run > 1<<62 {
			return Token{}, nil, nil, ErrInvalidToken
		}
		tok.RunID = int64(run)
	case KindMail, KindUnsubscribe:
		if len(rest) > maxString || !printable(rest) {
			return Token{}, nil, nil, ErrInvalidToken
		}
		if tok.Kind == KindMail {
			tok.MailKind = string(rest)
		} else {
			tok.Newsletter = string(rest)
		}
	default:
		return Token{}, nil, nil, ErrInvalidToken
	}
	return tok, body, sum, nil
}

// printable reports whether b is printable ASCII, as ids and kinds are.
func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// Verify decodes token, finds the subscriber's secret and checks the MAC
// with every key. Anything wrong with the token is ErrInvalidToken; a
// failed lookup is returned as is (wrapped).
func (t *Tokens) Verify(token string, secret SecretFunc) (Token, error) {
	tok, body, sum, err := Decode(token)
	if err != nil {
		return Token{}, err
	}
	sec, ok, err := secret(tok.SubscriberID)
	if err != nil {
		return Token{}, fmt.Errorf("bounce: subscriber %d: %w", tok.SubscriberID, err)
	}
	if !ok {
		return Token{}, ErrInvalidToken
	}
	for _, k := range t.keys {
		if hmac.Equal(mac(k, sec, body), sum) {
			return tok, nil
		}
	}
	return Token{}, ErrInvalidToken
}

// ParseAddress splits a recipient into its prefix kind and token when it
// is bounces+… or unsubscribe+… at domain (compared without case); ok is
// false for any other address.
func ParseAddress(addr, domain string) (token string, unsubscribe bool, ok bool) {
	addr = strings.TrimSpace(strings.Trim(strings.TrimSpace(addr), "<>"))
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || domain == "" || !strings.EqualFold(strings.TrimSuffix(addr[at+1:], "."), domain) {
		return "", false, false
	}
	local := addr[:at]
	if len(local) > maxLocal {
		return "", false, false
	}
	low := strings.ToLower(local)
	switch {
	case strings.HasPrefix(low, BouncePrefix):
		return low[len(BouncePrefix):], false, len(low) > len(BouncePrefix)
	case strings.HasPrefix(low, UnsubscribePrefix):
		return low[len(UnsubscribePrefix):], true, len(low) > len(UnsubscribePrefix)
	}
	return "", false, false
}

// VerifyAddress verifies a recipient address: the token must verify and
// its kind must match the prefix (unsubscribe+ only for KindUnsubscribe).
func (t *Tokens) VerifyAddress(addr, domain string, secret SecretFunc) (Token, error) {
	s, unsub, ok := ParseAddress(addr, domain)
	if !ok {
		return Token{}, ErrInvalidToken
	}
	tok, err := t.Verify(s, secret)
	if err != nil {
		return Token{}, err
	}
	if unsub != (tok.Kind == KindUnsubscribe) {
		return Token{}, ErrInvalidToken
	}
	return tok, nil
}
