package subscribe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Length limits (RFC 5321 §4.5.3.1).
const (
	maxEmail  = 254
	maxLocal  = 64
	maxDomain = 253
	// MaxName is the longest display name kept, in characters: enough for
	// a name, too short for a phishing text in a mail header.
	MaxName = 64
)

// idnaProfile maps a domain for lookup (lowercase, NFC, UTS 46) and
// converts it to punycode, rejecting what no registry would hold.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.ValidateLabels(true),
	idna.StrictDomainName(true), idna.VerifyDNSLength(true), idna.Transitional(false))

// NormalizeEmail trims s, keeps the local part exactly as typed, and
// lowercases the domain with IDN domains converted to punycode. It
// rejects anything that is not a plain dot-atom addr-spec of printable
// ASCII (so CR, LF, NUL, <, >, comma, semicolon, quotes and spaces can
// never reach a mail header), and addresses beyond RFC 5321's lengths.
// Errors wrap ErrInvalidEmail.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) (string, error) { return "", fmt.Errorf("%w: %s", ErrInvalidEmail, why) }
	if s == "" {
		return bad("empty")
	}
	if len(s) > 4*maxEmail || !utf8.ValidString(s) {
		return bad("too long or not UTF-8")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return bad("no @")
	}
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > maxLocal {
		return bad("the part before @ must be 1 to 64 characters")
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return bad("dots must separate words before the @")
	}
	for i := 0; i < len(local); i++ {
		if !isAtext(local[i]) && local[i] != '.' {
			return bad(fmt.Sprintf("character %q is not allowed before the @", local[i]))
		}
	}
	if domain == "" {
		return bad("no domain after @")
	}
	for _, r := range domain {
		if r < 0x80 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return bad(fmt.Sprintf("character %q is not allowed in the domain", r))
		}
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return bad("control or space character in the domain")
		}
	}
	ascii, err := idnaProfile.ToASCII(domain)
	if err != nil {
		return bad("the domain is not valid")
	}
	ascii = strings.ToLower(ascii)
	if len(ascii) > maxDomain || !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") {
		return bad("the domain must be a full domain name like example.org")
	}
	for _, label := range strings.Split(ascii, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return bad("the domain is not valid")
		}
	}
	out := local + "@" + ascii
	if len(out) > maxEmail {
		return bad("longer than 254 characters")
	}
	return out, nil
}

// isAtext reports RFC 5322 atext characters (ASCII only).
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// CleanName trims a display name, folds runs of white space to one space
// and rejects anything not printable (CR, LF, NUL, bidi overrides and the
// rest) and names longer than MaxName characters. Errors wrap
// ErrInvalidInput.
func CleanName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: name is not valid UTF-8", ErrInvalidInput)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != ' ' || r == '\u2028' || r == '\u2029' {
			return "", fmt.Errorf("%w: name contains a control character", ErrInvalidInput)
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	for _, r := range s {
		if r != ' ' && !unicode.IsPrint(r) {
			return "", fmt.Errorf("%w: name contains a character that is not printable", ErrInvalidInput)
		}
	}
	if utf8.RuneCountInString(s) > MaxName {
		return "", fmt.Errorf("%w: name is longer than %d characters", ErrInvalidInput, MaxName)
	}
	return s, nil
}

// Mailbox is the key of the confirmation guards for a normalised address:
// the mailbox that receives it. Lowercase, without a +tag, and for Gmail
// without dots and with googlemail.com as gmail.com, so victim+1@ and
// v.i.c.t.i.m@ count as the one address they reach.
func Mailbox(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return strings.ToLower(email)
	}
	local, domain := strings.ToLower(email[:at]), strings.ToLower(email[at+1:])
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if domain == "googlemail.com" {
		domain = "gmail.com"
	}
	if domain == "gmail.com" {
		local = strings.ReplaceAll(local, ".", "")
	}
	return local + "@" + domain
}
