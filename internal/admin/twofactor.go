package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Two-factor sign-in: TOTP (RFC 6238, 30 s steps, 6 digits, SHA-1: what
// every authenticator app reads) and one-time recovery codes.

// codeStore is what checking a second factor needs of the store.
type codeStore interface {
	UseTOTPStep(ctx context.Context, id, step int64) (bool, error)
	UseRecoveryCode(ctx context.Context, userID int64, hash string) (bool, error)
}

// TwoFactorStore is what enrolling a second factor needs of the store.
type TwoFactorStore interface {
	codeStore
	SetTOTP(ctx context.Context, id int64, secret string) error
	SetRecoveryCodes(ctx context.Context, userID int64, hashes []string) error
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
}

// RecoveryCodes is how many one-time recovery codes a user gets.
const RecoveryCodes = 10

// totpPeriod is the TOTP time step.
const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// ErrCode: the code is wrong, was used already, or is too old.
var ErrCode = errors.New("that code does not work: type the 6-digit code your app shows now, or one of your recovery codes")

// TOTPKey is a new second factor for enrolment: the secret to type in and
// the otpauth:// URL its QR code carries.
type TOTPKey struct {
	Secret string
	URL    string
	QR     []byte // PNG
}

// ErrBadSecret: the enrolment form's secret was changed on the way.
var ErrBadSecret = errors.New("the key was damaged on the way: start the set-up again")

// NewTOTPKey makes a fresh secret for the account email on the site
// issuer.
func NewTOTPKey(issuer, email string) (TOTPKey, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPKey{}, fmt.Errorf("admin: totp key: %w", err)
	}
	return keyOf(k)
}

// TOTPKeyOf is the key of an existing secret (to show it again).
func TOTPKeyOf(issuer, email, secret string) (TOTPKey, error) {
	if !validSecret(secret) {
		return TOTPKey{}, ErrBadSecret
	}
	v := url.Values{"secret": {secret}, "issuer": {issuer}, "period": {"30"}, "digits": {"6"}, "algorithm": {"SHA1"}}
	k, err := otp.NewKeyFromURL((&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + email, RawQuery: v.Encode()}).String())
	if err != nil {
		return TOTPKey{}, fmt.Errorf("admin: totp key: %w", err)
	}
	return keyOf(k)
}

// validSecret: base32 of at least 80 bits, as Generate makes (160).
func validSecret(s string) bool {
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	return err == nil && len(b) >= 10
}

func keyOf(k *otp.Key) (TOTPKey, error) {
	img, err := k.Image(200, 200)
	if err != nil {
		return TOTPKey{}, fmt.Errorf("admin: totp qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPKey{}, fmt.Errorf("admin: totp qr: %w", err)
	}
	return TOTPKey{Secret: k.Secret(), URL: k.URL(), QR: buf.Bytes()}, nil
}

// TOTPCode is the code of secret at t (tests and enrolment checks).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

// totpStep finds the time step (of now and one either side, for clock
// drift) whose code is code.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	for _, off := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(off*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// normalizeRecovery makes "ABCDE-FGHIJ", "abcde fghij" and "abcdefghij"
// one code.
func normalizeRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

// CheckSecondFactor accepts a TOTP code not used before (its step is
// recorded, so it cannot be replayed) or an unused recovery code (spent).
// Anything else is ErrCode. how says which it was, for the audit log.
func CheckSecondFactor(ctx context.Context, st codeStore, u store.User, code string, now time.Time) (how string, err error) {
	if u.TOTPSecret == "" {
		return "", ErrCode
	}
	if step, ok := totpStep(u.TOTPSecret, code, now); ok {
		fresh, err := st.UseTOTPStep(ctx, u.ID, step)
		if err != nil {
			return "", err
		}
		if !fresh {
			return "", ErrCode
		}
		return "code", nil
	}
	if n := normalizeRecovery(code); len(n) == 10 {
		ok, err := st.UseRecoveryCode(ctx, u.ID, HashToken(n))
		if err != nil {
			return "", err
		}
		if ok {
			return "recovery code", nil
		}
	}
	return "", ErrCode
}

// EnableTOTP turns two-factor sign-in on for u with secret, once code
// shows that the user's app has it, and returns new recovery codes.
func EnableTOTP(ctx context.Context, st TwoFactorStore, by Actor, u store.User, secret, code string, now time.Time) ([]string, error) {
	if !validSecret(secret) {
		return nil, ErrBadSecret
	}
	step, ok := totpStep(secret, code, now)
	if !ok {
		return nil, ErrCode
	}
	if err := st.SetTOTP(ctx, u.ID, secret); err != nil {
		return nil, err
	}
	// The confirming code counts as used.
	if _, err := st.UseTOTPStep(ctx, u.ID, step); err != nil {
		return nil, err
	}
	codes, err := setRecoveryCodes(ctx, st, u.ID)
	if err != nil {
		return nil, err
	}
	if err := audit(ctx, st, by, now, "2fa.enable", u.Email); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP turns two-factor sign-in off for u and drops its recovery
// codes.
func DisableTOTP(ctx context.Context, st TwoFactorStore, by Actor, u store.User, now time.Time) error {
	if err := st.SetTOTP(ctx, u.ID, ""); err != nil {
		return err
	}
	if err := st.SetRecoveryCodes(ctx, u.ID, nil); err != nil {
		return err
	}
	return audit(ctx, st, by, now, "2fa.disable", u.Email)
}

// NewRecoveryCodes replaces u's recovery codes with fresh ones.
func NewRecoveryCodes(ctx context.Context, st TwoFactorStore, by Actor, u store.User, now time.Time) ([]string, error) {
	codes, err := setRecoveryCodes(ctx, st, u.ID)
	if err != nil {
		return nil, err
	}
	return codes, audit(ctx, st, by, now, "2fa.recovery_codes", u.Email)
}

// setRecoveryCodes stores the hashes of RecoveryCodes fresh codes, each
// 50 random bits written as xxxxx-xxxxx.
func setRecoveryCodes(ctx context.Context, st TwoFactorStore, userID int64) ([]string, error) {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	codes := make([]string, RecoveryCodes)
	hashes := make([]string, RecoveryCodes)
	for i := range codes {
		b := make([]byte, 7)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("admin: recovery code: %w", err)
		}
		c := strings.ToLower(enc.EncodeToString(b))[:10]
		codes[i] = c[:5] + "-" + c[5:]
		hashes[i] = HashToken(c)
	}
	if err := st.SetRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, err
	}
	return codes, nil
}
