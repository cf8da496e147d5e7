// Package admin is the admin web UI's accounts: users and their roles,
// one-time setup links, argon2id passwords and the login backoff
// (docs/ARCHITECTURE.md, "HTTP surfaces").
package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters (RFC 9106's second recommended option, with less
// memory: 64 MiB per hash would let a burst of logins exhaust a small VPS).
const (
	argonTime    = 3
	argonMemory  = 32 * 1024 // KiB
	argonThreads = 2
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MinPasswordLen is the shortest password accepted, in characters.
const MinPasswordLen = 12

var (
	// ErrPasswordShort: fewer than MinPasswordLen characters.
	ErrPasswordShort = fmt.Errorf("the password must have at least %d characters", MinPasswordLen)
	// ErrPasswordIsEmail: the password is the account's address.
	ErrPasswordIsEmail = errors.New("the password must not be your email address")
)

// CheckPassword applies the password policy for the account email.
func CheckPassword(password, email string) error {
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return ErrPasswordShort
	}
	if strings.EqualFold(strings.TrimSpace(password), strings.TrimSpace(email)) {
		return ErrPasswordIsEmail
	}
	return nil
}

// HashPassword returns the argon2id hash of password in the PHC string
// format, with a random salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("admin: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// dummyHash is verified against when the address is unknown or has no
// password yet, so such a login costs the same work as a wrong password.
const dummyHash = "$argon2id$v=19$m=32768,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// VerifyPassword reports whether password matches encoded. An empty or
// malformed encoded hash is checked against a dummy hash with the same
// parameters and never matches.
func VerifyPassword(encoded, password string) bool {
	ok := true
	salt, key, m, t, p, err := parseHash(encoded)
	if err != nil {
		ok = false
		salt, key, m, t, p, _ = parseHash(dummyHash)
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1 && ok
}

func parseHash(encoded string) (salt, key []byte, m, t uint32, p uint8, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return nil, nil, 0, 0, 0, errors.New("admin: not an argon2id hash")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return nil, nil, 0, 0, 0, fmt.Errorf("admin: argon2id parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return nil, nil, 0, 0, 0, fmt.Errorf("admin: argon2id salt: %w", err)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) == 0 {
		return nil, nil, 0, 0, 0, fmt.Errorf("admin: argon2id key: %w", err)
	}
	return salt, key, m, t, p, nil
}

// NewToken returns a random 256-bit token for a URL or a cookie, and the
// hash the store keeps of it.
func NewToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("admin: token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is the SHA-256 (hex) of a token: the store never holds a
// token that would work if the store were copied.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Login backoff: after FreeFailures wrong passwords in a row, each further
// attempt on the account waits twice as long as the last, from 1 s up to
// MaxBackoff.
const (
	FreeFailures = 5
	MaxBackoff   = 15 * time.Minute
)

// Backoff is how long the account waits after its failures-th wrong
// password in a row.
func Backoff(failures int) time.Duration {
	if failures < FreeFailures {
		return 0
	}
	d := time.Second
	for i := FreeFailures; i < failures; i++ {
		d *= 2
		if d >= MaxBackoff {
			return MaxBackoff
		}
	}
	return d
}
