package mail

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Prepared is a message encoded once, split into static byte segments and
// slots. Rendering one recipient is copying the segments and encoding the
// values for their context, so a run of 100,000 recipients encodes the
// digest once instead of 100,000 times. A Prepared is immutable and safe for
// concurrent use.
type Prepared struct {
	segs    []segment
	toName  template
	toEmail template
	unsub   template
	unsubTo template // mailto alternative (ListUnsubscribeMailto); empty: none
	msgID   template // nil: a fresh random id per Render
	domain  string   // for generated Message-IDs
	one     bool     // OneClick: rendered List-Unsubscribe must stay https
	slots   []string // every slot name used, sorted
	size    int      // static bytes, to size dst
}

type segKind uint8

const (
	segStatic segKind = iota
	segTo             // the whole To field
	segMsgID          // the whole Message-ID field
	segUnsub          // the whole List-Unsubscribe field
	segQP             // a slot inside a quoted-printable body part
)

type segment struct {
	kind   segKind
	static []byte
	slot   string
}

// placeholder values go-mail encodes where a header is rendered per
// recipient; Prepare replaces those header fields whole.
const (
	placeholderEmail = "slot@slot.invalid"
	placeholderURL   = "https://slot.invalid/"
	placeholderID    = "slot@slot.invalid"
)

// Prepare encodes m once through go-mail and splits the bytes at its slots
// (see Slot). Slots may appear in To (name and email), ListUnsubscribe,
// MessageID, Text and HTML; anywhere else they are an error. An empty
// MessageID makes every Render generate a new one at the From domain.
func Prepare(m *Message) (*Prepared, error) {
	if err := m.validateStatic(); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{
		{"To name", m.To.Name}, {"To", m.To.Email}, {"List-Unsubscribe", m.ListUnsubscribe}, {"Message-ID", m.MessageID},
	} {
		if err := checkHeaderValue(f.name, f.v); err != nil {
			return nil, err
		}
	}
	p := &Prepared{
		toName:  parseTemplate(m.To.Name),
		toEmail: parseTemplate(m.To.Email),
		unsub:   parseTemplate(m.ListUnsubscribe),
		unsubTo: parseTemplate(m.ListUnsubscribeMailto),
		domain:  domainOf(m.From.Email),
		one:     m.OneClick,
	}
	if m.MessageID != "" {
		p.msgID = parseTemplate(m.MessageID)
	}

	to, unsub, id := m.To, m.ListUnsubscribe, m.MessageID
	dynTo := p.toName.hasSlots() || p.toEmail.hasSlots()
	if dynTo {
		to = Address{Email: placeholderEmail}
	} else if err := checkEmail("To", to.Email); err != nil {
		return nil, err
	}
	dynUnsub := p.unsub.hasSlots() || p.unsubTo.hasSlots()
	if dynUnsub {
		unsub = placeholderURL
	} else if unsub != "" {
		if err := checkUnsubscribeURL(unsub, m.OneClick); err != nil {
			return nil, err
		}
	}
	dynID := p.msgID == nil || p.msgID.hasSlots()
	if dynID {
		id = placeholderID
	} else if err := checkMessageID(id); err != nil {
		return nil, err
	}

	raw, err := m.write(id, to, unsub)
	if err != nil {
		return nil, err
	}
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, errors.New("mail: prepare: encoded message has no header end")
	}
	var b segBuilder
	if err := b.header(raw[:end+2], map[string]segKind{
		"to": pick(dynTo, segTo), "message-id": pick(dynID, segMsgID), "list-unsubscribe": pick(dynUnsub, segUnsub),
	}); err != nil {
		return nil, err
	}
	b.body(raw[end+2:])
	p.segs = b.finish()

	names := map[string]bool{}
	add := func(n string) { names[n] = true }
	for _, t := range []template{p.toName, p.toEmail, p.unsub, p.unsubTo, p.msgID} {
		t.slots(add)
	}
	for _, s := range p.segs {
		p.size += len(s.static)
		if s.kind == segQP {
			add(s.slot)
		}
	}
	for n := range names {
		p.slots = append(p.slots, n)
	}
	sort.Strings(p.slots)
	return p, nil
}

func pick(dyn bool, k segKind) segKind {
	if dyn {
		return k
	}
	return segStatic
}

// Slots returns the names of the slots Render needs values for.
func (p *Prepared) Slots() []string { return slices.Clone(p.slots) }

// segBuilder accumulates static bytes between dynamic segments.
type segBuilder struct {
	segs []segment
	cur  []byte
}

func (b *segBuilder) static(p []byte)       { b.cur = append(b.cur, p...) }
func (b *segBuilder) staticString(s string) { b.cur = append(b.cur, s...) }

func (b *segBuilder) dynamic(s segment) {
	if len(b.cur) > 0 {
		b.segs = append(b.segs, segment{kind: segStatic, static: b.cur})
		b.cur = nil
	}
	b.segs = append(b.segs, s)
}

func (b *segBuilder) finish() []segment {
	if len(b.cur) > 0 {
		b.segs = append(b.segs, segment{kind: segStatic, static: b.cur})
	}
	return b.segs
}

// header splits the header section (ending in CRLF) into fields and turns
// the fields named in dyn into dynamic segments. A slot left in any static
// field is an error: it would go out as a literal marker.
func (b *segBuilder) header(h []byte, dyn map[string]segKind) error {
	for len(h) > 0 {
		n := fieldLen(h)
		field := h[:n]
		h = h[n:]
		name, _, _ := bytes.Cut(field, []byte(":"))
		if k := dyn[strings.ToLower(string(name))]; k != segStatic {
			b.dynamic(segment{kind: k})
			continue
		}
		if bytes.Contains(field, []byte(slotPrefix)) {
			return fmt.Errorf("mail: prepare: slot in header %s is not supported", name)
		}
		b.static(field)
	}
	return nil
}

// body copies the body, re-wrapping the quoted-printable lines that hold
// slots so that every slot starts a line and is followed by a soft line
// break: a value of any length can then be encoded in place without ever
// splitting a marker or breaking the 76-character line limit.
func (b *segBuilder) body(body []byte) {
	for len(body) > 0 {
		// One logical line: physical lines joined at soft breaks ("=\r\n").
		n, eol := 0, false
		var logical []byte
		for {
			i := bytes.Index(body[n:], []byte("\r\n"))
			if i < 0 {
				logical = append(logical, body[n:]...)
				n = len(body)
				break
			}
			line := body[n : n+i]
			n += i + 2
			// A final '=' is a soft break: an =XX escape ends in a hex
			// digit, and go-mail's boundaries and part headers never end in '='.
			if len(line) > 0 && line[len(line)-1] == '=' {
				logical = append(logical, line[:len(line)-1]...)
				continue
			}
			logical = append(logical, line...)
			eol = true
			break
		}
		group := body[:n]
		body = body[n:]
		if !bytes.Contains(logical, []byte(slotPrefix)) {
			b.static(group)
			continue
		}
		b.rewrap(string(logical), eol)
	}
}

// rewrap emits one logical quoted-printable line that holds slots.
func (b *segBuilder) rewrap(logical string, eol bool) {
	pos, col := 0, 0
	for {
		start, end, name := nextSlot(logical, pos)
		if start < 0 {
			break
		}
		col = b.wrapQP(logical[pos:start], col)
		if col > 0 {
			b.staticString("=\r\n")
			col = 0
		}
		b.dynamic(segment{kind: segQP, slot: name})
		pos = end
	}
	b.wrapQP(logical[pos:], col)
	if eol {
		b.staticString("\r\n")
	}
}

// qpLine is the longest encoded line before its soft break "=" (RFC 2045:
// 76 characters including the "=").
const qpLine = 75

// wrapQP emits already-encoded quoted-printable text, breaking lines only
// between tokens (a literal byte or an =XX escape), and returns the column.
func (b *segBuilder) wrapQP(s string, col int) int {
	for i := 0; i < len(s); {
		n := 1
		if s[i] == '=' && i+2 < len(s) {
			n = 3
		}
		if col+n > qpLine {
			b.staticString("=\r\n")
			col = 0
		}
		b.staticString(s[i : i+n])
		col += n
		i += n
	}
	return col
}

// ErrMissingValue reports a slot without a value in Render.
var ErrMissingValue = errors.New("mail: missing slot value")

// ErrBadValue reports a value Render cannot use: it holds CR, LF or NUL,
// is not valid UTF-8, or makes an invalid To address. It is the value's
// fault (one recipient's data), unlike the other Render errors, which are
// the prepared message's and would fail every recipient alike.
var ErrBadValue = errors.New("mail: unusable slot value")

// Render appends one recipient's message to dst and returns it. values maps
// slot names to plain (unencoded) text; Render encodes each for where its
// slot sits: quoted-printable in bodies, an RFC 2047 word for a non-ASCII To
// name. Values holding CR, LF or NUL, or invalid UTF-8, are rejected, as are
// results that are not a valid address, URL or Message-ID in their header.
func (p *Prepared) Render(dst []byte, values map[string]string) ([]byte, error) {
	extra := 0
	for _, name := range p.slots {
		v, ok := values[name]
		if !ok {
			return dst, fmt.Errorf("%w %q", ErrMissingValue, name)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return dst, fmt.Errorf("mail: slot %q: %w: %w", name, ErrBadValue, ErrHeaderInjection)
		}
		if !utf8.ValidString(v) {
			return dst, fmt.Errorf("mail: slot %q: %w: not valid UTF-8", name, ErrBadValue)
		}
		extra += len(v)
	}
	dst = slices.Grow(dst, p.size+4*extra+512)
	for _, s := range p.segs {
		var err error
		switch s.kind {
		case segStatic:
			dst = append(dst, s.static...)
		case segQP:
			dst = appendQP(dst, values[s.slot])
		case segTo:
			dst, err = p.appendTo(dst, values)
		case segMsgID:
			dst, err = p.appendMsgID(dst, values)
		case segUnsub:
			u, to := p.unsub.expand(values), p.unsubTo.expand(values)
			if err = checkUnsubscribeURL(u, p.one); err == nil && to != "" {
				err = checkEmail("List-Unsubscribe mailto", to)
			}
			if err == nil {
				dst = append(append(append(dst, "List-Unsubscribe: <"...), u...), '>')
				if to != "" {
					dst = append(append(append(dst, ", <mailto:"...), to...), '>')
				}
				dst = append(dst, "\r\n"...)
			}
		}
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func (p *Prepared) appendTo(dst []byte, values map[string]string) ([]byte, error) {
	email := p.toEmail.expand(values)
	if err := checkEmail("To", email); err != nil {
		return dst, fmt.Errorf("%w: %w", ErrBadValue, err)
	}
	a := Address{Name: p.toName.expand(values), Email: email}
	if err := checkName("To name", a.Name); err != nil {
		return dst, fmt.Errorf("%w: %w", ErrBadValue, err)
	}
	return appendFolded(dst, "To", a.String()), nil
}

func (p *Prepared) appendMsgID(dst []byte, values map[string]string) ([]byte, error) {
	var id string
	if p.msgID == nil {
		id = newMessageID(p.domain)
	} else {
		id = p.msgID.expand(values)
		if err := checkMessageID(id); err != nil {
			return dst, err
		}
	}
	return append(append(append(dst, "Message-ID: <"...), id...), ">\r\n"...), nil
}

// appendFolded writes "key: value" CRLF, folding at spaces to keep lines
// within 76 characters where the value allows it, as go-mail does.
func appendFolded(dst []byte, key, value string) []byte {
	dst = append(append(dst, key...), ": "...)
	col := len(key) + 2
	for i, w := range strings.Split(value, " ") {
		if i > 0 {
			if col+1+len(w) > 76 {
				dst = append(dst, "\r\n "...)
				col = 1
			} else {
				dst = append(dst, ' ')
				col++
			}
		}
		dst = append(dst, w...)
		col += len(w)
	}
	return append(dst, "\r\n"...)
}

const upperHex = "0123456789ABCDEF"

// appendQP encodes v as quoted-printable lines that start at column 0 and
// end with a soft line break, the layout Prepare leaves around every slot.
// Spaces and tabs stay literal: a soft break's '=' always follows them.
func appendQP(dst []byte, v string) []byte {
	col := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		n := 1
		if (c < '!' || c > '~' || c == '=') && c != ' ' && c != '\t' {
			n = 3
		}
		if col+n > qpLine {
			dst = append(dst, "=\r\n"...)
			col = 0
		}
		if n == 1 {
			dst = append(dst, c)
		} else {
			dst = append(dst, '=', upperHex[c>>4], upperHex[c&15])
		}
		col += n
	}
	if len(v) > 0 {
		dst = append(dst, "=\r\n"...)
	}
	return dst
}
