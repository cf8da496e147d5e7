package mail

import (
	"fmt"
	"strings"
)

// slotPrefix starts every slot marker. A marker is "~HERALD~name~": only
// characters that pass through every encoding unchanged (printable ASCII,
// no space, no '='), so quoted-printable, RFC 2047 and html/template (also in
// URL attributes) leave it as it is and Prepare can find it in the bytes.
const slotPrefix = "~HERALD~"

// Slot returns the marker that stands for the per-recipient value name in
// To (name or email), ListUnsubscribe, Text, HTML and MessageID. Names are
// 1–64 characters of [A-Za-z0-9_-]; Slot panics on any other name, as it is
// a programming error like a bad regexp.
//
// Values replace markers verbatim before transfer encoding: a value used in
// HTML must already be HTML-escaped if it needs to be (use a separate slot).
func Slot(name string) string {
	if !validSlotName(name) {
		panic(fmt.Sprintf("mail: invalid slot name %q", name))
	}
	return slotPrefix + name + "~"
}

func validSlotName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// nextSlot finds the first complete marker in s at or after from. It returns
// the marker's start and end and the slot name, or start -1.
func nextSlot(s string, from int) (start, end int, name string) {
	for from < len(s) {
		i := strings.Index(s[from:], slotPrefix)
		if i < 0 {
			return -1, -1, ""
		}
		start = from + i
		rest := s[start+len(slotPrefix):]
		j := strings.IndexByte(rest, '~')
		if j > 0 && validSlotName(rest[:j]) {
			return start, start + len(slotPrefix) + j + 1, rest[:j]
		}
		from = start + 1
	}
	return -1, -1, ""
}

// template is a string split into literal text and slots.
type template []tmplPart

type tmplPart struct {
	lit  string
	slot string // empty: lit only
}

func parseTemplate(s string) template {
	var t template
	pos := 0
	for {
		start, end, name := nextSlot(s, pos)
		if start < 0 {
			break
		}
		t = append(t, tmplPart{lit: s[pos:start], slot: name})
		pos = end
	}
	return append(t, tmplPart{lit: s[pos:]})
}

func (t template) hasSlots() bool { return len(t) > 1 }

func (t template) expand(values map[string]string) string {
	if !t.hasSlots() {
		return t[0].lit
	}
	var b strings.Builder
	for _, p := range t {
		b.WriteString(p.lit)
		if p.slot != "" {
			b.WriteString(values[p.slot])
		}
	}
	return b.String()
}

func (t template) slots(add func(string)) {
	for _, p := range t {
		if p.slot != "" {
			add(p.slot)
		}
	}
}
