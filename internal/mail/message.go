package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"mime"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Address is a mailbox with an optional display name.
type Address struct{ Name, Email string }

// String formats the address for a header per RFC 5322: the display name is
// quoted when it is printable ASCII and an RFC 2047 encoded word otherwise.
func (a Address) String() string {
	if !netmailMisencodes(a.Name) {
		return (&netmail.Address{Name: a.Name, Address: a.Email}).String()
	}
	return mime.BEncoding.Encode("utf-8", a.Name) + " " + (&netmail.Address{Address: a.Email}).String()
}

// netmailMisencodes reports names that net/mail's Address.String (which
// go-mail uses) turns into a Q-encoded word with a bare backslash, which
// RFC 2047 forbids in a phrase and net/mail itself cannot parse back.
func netmailMisencodes(name string) bool {
	if !strings.ContainsRune(name, '\\') {
		return false
	}
	for _, r := range name {
		if r >= utf8.RuneSelf || (r < ' ' && r != '\t') || r == 0x7f {
			return true
		}
	}
	return false
}

// Message is one mail as Herald composes it. List mail goes to one recipient
// per message, so To is a single address.
type Message struct {
	From    Address
	To      Address // one recipient; list mail is per recipient
	ReplyTo *Address
	Subject string
	// Text is sent as text/plain; HTML, when not empty, as text/html after it
	// in a multipart/alternative (clients show the last part they support).
	Text, HTML string
	// ListID is the List-Id value, e.g. "Cluster Bridge Monthly <monthly.news.example.org>".
	ListID string
	// ListUnsubscribe is an http or https URL; empty: no List-Unsubscribe.
	ListUnsubscribe string
	// ListUnsubscribeMailto is an address offered after ListUnsubscribe
	// as mailto: (unsubscribe+{token}@bounce domain); empty: none.
	ListUnsubscribeMailto string
	// OneClick adds List-Unsubscribe-Post: List-Unsubscribe=One-Click
	// (RFC 8058); it requires an https ListUnsubscribe.
	OneClick bool
	// Headers are extra header fields such as X-Herald-Run.
	Headers [][2]string
	// Date is the Date header; zero means now.
	Date time.Time
	// MessageID is the Message-ID without angle brackets; empty: a random
	// local part at the domain of From.
	MessageID string
}

// ErrHeaderInjection reports a header value holding CR, LF or NUL, which
// would let the value start a header field of its own.
var ErrHeaderInjection = errors.New("mail: header value contains CR, LF or NUL")

// reservedHeaders are written by the builder itself; Message.Headers must not
// repeat them (a second From or Content-Type would confuse every reader).
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "subject": true,
	"date": true, "message-id": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "list-id": true, "list-unsubscribe": true,
	"list-unsubscribe-post": true, "sender": true, "return-path": true, "dkim-signature": true,
}

// maxHeaderValue keeps every header line under RFC 5322's 998-character
// limit even when a value has no space to fold at.
const maxHeaderValue = 900

// checkHeaderValue rejects values that could inject header fields or make
// a header line longer than 998 characters.
func checkHeaderValue(field, v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("%s: %w", field, ErrHeaderInjection)
	}
	if len(v) > maxHeaderValue {
		return fmt.Errorf("mail: %s: %d bytes, longer than %d", field, len(v), maxHeaderValue)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("mail: %s: not valid UTF-8", field)
	}
	return nil
}

// maxName bounds display names: a long name without spaces cannot be folded.
const maxName = 256

func checkName(field, name string) error {
	if err := checkHeaderValue(field, name); err != nil {
		return err
	}
	if len(name) > maxName {
		return fmt.Errorf("mail: %s: %d bytes, longer than %d", field, len(name), maxName)
	}
	return nil
}

// checkEmail requires a bare addr-spec that net/mail reads back unchanged.
func checkEmail(field, email string) error {
	if err := checkHeaderValue(field, email); err != nil {
		return err
	}
	if len(email) > 254 { // RFC 5321 path limit
		return fmt.Errorf("mail: %s: address longer than 254 bytes", field)
	}
	if plainAddress(email) {
		return nil // the common case, without net/mail's allocations
	}
	a, err := netmail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return fmt.Errorf("mail: %s: invalid address %q", field, email)
	}
	for i := 0; i < len(email); i++ {
		if email[i] <= ' ' || email[i] > '~' {
			return fmt.Errorf("mail: %s: address %q is not printable ASCII", field, email)
		}
	}
	return nil
}

// plainAddress reports an address of the form dot-atom@dot-atom in
// printable ASCII (RFC 5322 section 3.4.1): a subset of what
// net/mail.ParseAddress accepts unchanged, decided without allocating.
// checkEmail runs per message and per recipient, so this is the hot path.
func plainAddress(email string) bool {
	at := strings.LastIndexByte(email, '@')
	return at > 0 && dotAtom(email[:at]) && dotAtom(email[at+1:])
}

func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// checkMessageID accepts an id-left@id-right without brackets or spaces.
func checkMessageID(id string) error {
	if err := checkHeaderValue("Message-ID", id); err != nil {
		return err
	}
	at := strings.LastIndexByte(id, '@')
	if at <= 0 || at == len(id)-1 {
		return fmt.Errorf("mail: Message-ID %q: want left@right", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c > '~' || strings.IndexByte(`<>()[]\",;:`, c) >= 0 {
			return fmt.Errorf("mail: Message-ID %q: character %q not allowed", id, c)
		}
	}
	return nil
}

// checkUnsubscribeURL accepts an absolute http(s) URL of printable ASCII
// (anything else must be percent-encoded by the caller).
func checkUnsubscribeURL(u string, oneClick bool) error {
	if err := checkHeaderValue("List-Unsubscribe", u); err != nil {
		return err
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c > '~' || c == '<' || c == '>' {
			return fmt.Errorf("mail: List-Unsubscribe: character %q not allowed in URL (percent-encode it)", c)
		}
	}
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("mail: List-Unsubscribe: %w", err)
	}
	if p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") {
		return fmt.Errorf("mail: List-Unsubscribe %q: want an absolute http or https URL", u)
	}
	if oneClick && p.Scheme != "https" {
		return fmt.Errorf("mail: List-Unsubscribe %q: one-click (RFC 8058) needs https", u)
	}
	return nil
}

// validateStatic checks the fields that never hold slots.
func (m *Message) validateStatic() error {
	if err := checkEmail("From", m.From.Email); err != nil {
		return err
	}
	if err := checkName("From name", m.From.Name); err != nil {
		return err
	}
	if m.ReplyTo != nil {
		if err := checkEmail("Reply-To", m.ReplyTo.Email); err != nil {
			return err
		}
		if err := checkName("Reply-To name", m.ReplyTo.Name); err != nil {
			return err
		}
	}
	if err := checkHeaderValue("Subject", m.Subject); err != nil {
		return err
	}
	if err := checkHeaderValue("List-Id", m.ListID); err != nil {
		return err
	}
	for _, h := range m.Headers {
		if err := checkFieldName(h[0]); err != nil {
			return err
		}
		if err := checkHeaderValue(h[0], h[1]); err != nil {
			return err
		}
	}
	if m.OneClick && m.ListUnsubscribe == "" {
		return errors.New("mail: OneClick without ListUnsubscribe")
	}
	for _, f := range []struct{ name, v string }{
		{"From", m.From.Email + m.From.Name}, {"Subject", m.Subject}, {"List-Id", m.ListID},
	} {
		if strings.Contains(f.v, slotPrefix) {
			return fmt.Errorf("mail: %s: slots are not allowed here", f.name)
		}
	}
	if m.ReplyTo != nil && strings.Contains(m.ReplyTo.Name+m.ReplyTo.Email, slotPrefix) {
		return errors.New("mail: Reply-To: slots are not allowed here")
	}
	for _, h := range m.Headers {
		if strings.Contains(h[1], slotPrefix) {
			return fmt.Errorf("mail: %s: slots are not allowed here", h[0])
		}
	}
	return nil
}

// checkFieldName accepts RFC 5322 field names that the builder does not own.
func checkFieldName(name string) error {
	if name == "" {
		return errors.New("mail: empty header name")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < '!' || c > '~' || c == ':' {
			return fmt.Errorf("mail: header name %q: character %q not allowed", name, c)
		}
	}
	if reservedHeaders[strings.ToLower(name)] {
		return fmt.Errorf("mail: header %q is set by the message builder", name)
	}
	return nil
}

// validate checks a message whose slots (if any) are already substituted.
func (m *Message) validate() error {
	if err := m.validateStatic(); err != nil {
		return err
	}
	if err := checkEmail("To", m.To.Email); err != nil {
		return err
	}
	if err := checkName("To name", m.To.Name); err != nil {
		return err
	}
	if m.ListUnsubscribe != "" {
		if err := checkUnsubscribeURL(m.ListUnsubscribe, m.OneClick); err != nil {
			return err
		}
	}
	if m.ListUnsubscribeMailto != "" {
		if err := checkEmail("List-Unsubscribe mailto", m.ListUnsubscribeMailto); err != nil {
			return err
		}
	}
	if m.MessageID != "" {
		if err := checkMessageID(m.MessageID); err != nil {
			return err
		}
	}
	for _, s := range []string{m.To.Name, m.To.Email, m.ListUnsubscribe, m.ListUnsubscribeMailto, m.MessageID, m.Text, m.HTML} {
		if strings.Contains(s, slotPrefix) {
			return errors.New("mail: message holds slots: use Prepare and Render")
		}
	}
	return nil
}

// Encode builds the message with go-mail and returns its bytes (CRLF line
// ends, quoted-printable bodies). For list mail use Prepare once and Render
// per recipient instead: that is the same encoding without the per-recipient
// cost.
func Encode(m *Message) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	id := m.MessageID
	if id == "" {
		id = newMessageID(domainOf(m.From.Email))
	}
	return m.write(id, m.To, m.ListUnsubscribe)
}

// write encodes through go-mail with the given (possibly placeholder) To,
// Message-ID and List-Unsubscribe values.
func (m *Message) write(msgID string, to Address, unsub string) ([]byte, error) {
	g := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithEncoding(gomail.EncodingQP),
		gomail.WithCharset(gomail.CharsetUTF8))
	g.FromMailAddress(&netmail.Address{Name: m.From.Name, Address: m.From.Email})
	g.ToMailAddress(&netmail.Address{Name: to.Name, Address: to.Email})
	if m.ReplyTo != nil {
		g.ReplyToMailAddress(&netmail.Address{Name: m.ReplyTo.Name, Address: m.ReplyTo.Email})
	}
	g.Subject(m.Subject)
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	g.SetDateWithValue(date)
	g.SetMessageIDWithValue(msgID)
	if m.ListID != "" {
		g.SetGenHeaderPreformatted(gomail.Header("List-Id"), encodeListID(m.ListID))
	}
	if unsub != "" {
		// Not SetListUnsubscribeOneClick: it re-serialises the URL through
		// net/url (dropping an empty "#", say); the URL is already checked
		// (https for one-click) and goes out exactly as given.
		if m.ListUnsubscribeMailto != "" {
			g.SetListUnsubscribe(unsub, "mailto:"+m.ListUnsubscribeMailto)
		} else {
			g.SetListUnsubscribe(unsub)
		}
		if m.OneClick {
			g.SetListUnsubscribePost()
		}
	}
	for _, h := range m.Headers {
		g.SetGenHeader(gomail.Header(h[0]), h[1])
	}
	g.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		g.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	var buf bytes.Buffer
	buf.Grow(len(m.Text) + len(m.HTML)*11/10 + 2048)
	if _, err := g.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("mail: encode: %w", err)
	}
	raw := buf.Bytes()
	for _, f := range []struct {
		name string
		a    *Address
	}{{"From", &m.From}, {"To", &to}, {"Reply-To", m.ReplyTo}} {
		if f.a != nil && netmailMisencodes(f.a.Name) {
			raw = replaceField(raw, f.name, f.a.String())
		}
	}
	return raw, nil
}

// replaceField rewrites the first header field called name.
func replaceField(raw []byte, name, value string) []byte {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		return raw
	}
	for off := 0; off < end+2; {
		n := fieldLen(raw[off : end+2])
		field := raw[off : off+n]
		if k, _, _ := bytes.Cut(field, []byte(":")); strings.EqualFold(string(k), name) {
			out := make([]byte, 0, len(raw)+len(value))
			out = append(out, raw[:off]...)
			out = appendFolded(out, name, value)
			return append(out, raw[off+n:]...)
		}
		off += n
	}
	return raw
}

// fieldLen returns the length of the first header field in h, with its
// continuation lines and final CRLF.
func fieldLen(h []byte) int {
	n := 0
	for {
		i := bytes.Index(h[n:], []byte("\r\n"))
		if i < 0 {
			return len(h)
		}
		n += i + 2
		if n >= len(h) || (h[n] != ' ' && h[n] != '\t') {
			return n
		}
	}
}

// encodeListID encodes the phrase of "Phrase <list.id>" as an RFC 2047 word
// when it is not ASCII; go-mail writes preformatted headers verbatim.
func encodeListID(v string) string {
	lt := strings.LastIndexByte(v, '<')
	if lt < 0 {
		return v
	}
	phrase := strings.TrimSpace(v[:lt])
	if phrase == "" {
		return v[lt:]
	}
	for i := 0; i < len(phrase); i++ {
		if phrase[i] >= utf8.RuneSelf {
			return mime.QEncoding.Encode("utf-8", phrase) + " " + v[lt:]
		}
	}
	return v
}

// domainOf returns the part after the last @.
func domainOf(email string) string {
	return email[strings.LastIndexByte(email, '@')+1:]
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newMessageID returns 130 random bits at domain: unique without coordination.
func newMessageID(domain string) string {
	var b [17]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(idEncoding.EncodeToString(b[:])) + "@" + domain
}
