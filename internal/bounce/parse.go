package bounce

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// Class is what an inbound message or provider event means for Herald.
type Class int

const (
	// Unknown: Herald cannot tell; the message is kept for an operator.
	Unknown Class = iota
	// Hard: a permanent failure (5.x.x); the address is suppressed.
	Hard
	// Soft: a temporary failure (4.x.x, delayed); counted.
	Soft
	// Complaint: an ARF report or a provider's complaint; suppressed.
	Complaint
	// AutoReply: out-of-office, vacation and other automatic answers;
	// ignored.
	AutoReply
	// Delivered: a DSN saying the mail was delivered or relayed; ignored.
	Delivered
	// Unsubscribe: mail to an unsubscribe+ address (listener only).
	Unsubscribe
)

func (c Class) String() string {
	switch c {
	case Hard:
		return "hard"
	case Soft:
		return "soft"
	case Complaint:
		return "complaint"
	case AutoReply:
		return "auto-reply"
	case Delivered:
		return "delivered"
	case Unsubscribe:
		return "unsubscribe"
	}
	return "unknown"
}

// Ignored reports whether a message of class c needs no action.
func (c Class) Ignored() bool { return c == AutoReply || c == Delivered }

// Report is what Parse found in a message.
type Report struct {
	Class        Class
	Recipient    string // the failed or complaining address, when found
	Status       string // enhanced status code, "5.1.1"
	Action       string // RFC 3464 Action, lower case
	Diagnostic   string // Diagnostic-Code or the SMTP reply quoted in text
	MessageID    string // the original message's Message-ID, no brackets
	Token        string // a bounces+ token seen in the headers, unverified
	FeedbackType string // ARF Feedback-Type, lower case
	Reason       string // how it was classified, or why it was not
}

// MaxParseBytes bounds what Parse reads; the listener accepts no more.
const MaxParseBytes = 10 << 20

// limits on the MIME tree Parse walks, against hostile nesting.
const (
	maxDepth     = 8
	maxParts     = 64
	maxTextBytes = 256 << 10
)

// Parse classifies a message: an RFC 3464 DSN, an RFC 5965 ARF report, an
// automatic reply, or a bounce written only as text (Exim, Exchange, Gmail
// styles: SMTP codes in the text). Content it cannot understand is
// Unknown with a Reason, never an error; the error is only for reading r.
func Parse(r io.Reader) (Report, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxParseBytes+1))
	if err != nil {
		return Report{}, fmt.Errorf("bounce: read message: %w", err)
	}
	if len(raw) > MaxParseBytes {
		return Report{Reason: "message too large to parse"}, nil
	}
	return parseBytes(raw), nil
}

// walker collects what the MIME tree holds.
type walker struct {
	parts    int
	dsn      []byte // message/delivery-status
	arf      []byte // message/feedback-report
	original *textproto.Header
	text     bytes.Buffer
}

func parseBytes(raw []byte) Report {
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		if e == nil {
			return Report{Reason: "malformed message: " + trim(err.Error(), 200)}
		}
	}
	if e == nil || e.Header.Len() == 0 {
		return Report{Reason: "no message header"}
	}
	w := &walker{}
	w.walk(e, 0)
	h := e.Header

	rep := Report{}
	switch {
	case w.arf != nil:
		rep = w.parseARF()
	case w.dsn != nil:
		rep = parseDSN(w.dsn)
	}
	if w.original != nil {
		id := w.original.Get("Message-Id")
		rep.MessageID = strings.Trim(strings.TrimSpace(id), "<>")
	}
	rep.Token = findToken(&h.Header, w.original)
	if rep.Class != Unknown {
		return rep
	}
	// No usable report part: a text-only bounce or an automatic reply.
	// RFC 3834 auto-replies may come from the null sender too, so that
	// alone counts only once the auto-reply headers said nothing.
	why := autoReply(h)
	if looksBounce(h) || why == "" && strings.TrimSpace(h.Get("Return-Path")) == "<>" {
		text := w.text.String()
		if c, st, diag := textCodes(text); c != Unknown {
			rep.Class, rep.Status, rep.Diagnostic = c, st, diag
			rep.Reason = "SMTP code in a text bounce"
			if rep.Recipient == "" {
				rep.Recipient = failedRecipient(h, text)
			}
			if rep.MessageID == "" {
				rep.MessageID = quotedMessageID(text)
			}
			return rep
		}
		if rep.Reason == "" {
			rep.Reason = "bounce without a status code"
		}
		return rep
	}
	if why != "" {
		rep.Class, rep.Reason = AutoReply, why
		return rep
	}
	if rep.Reason == "" {
		rep.Reason = "neither a bounce, a complaint nor an automatic reply"
	}
	return rep
}

func (w *walker) walk(e *message.Entity, depth int) {
	w.parts++
	if w.parts > maxParts || depth > maxDepth {
		return
	}
	ct, _, _ := e.Header.ContentType()
	if ct == "" {
		ct = "text/plain"
	}
	switch {
	case strings.HasPrefix(ct, "multipart/"):
		mr := e.MultipartReader()
		if mr == nil {
			return
		}
		for {
			p, err := mr.NextPart()
			if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
				return
			}
			w.walk(p, depth+1)
		}
	case ct == "message/delivery-status" || ct == "message/global-delivery-status":
		if w.dsn == nil {
			w.dsn, _ = io.ReadAll(io.LimitReader(e.Body, maxTextBytes))
		}
	case ct == "message/feedback-report":
		if w.arf == nil {
			w.arf, _ = io.ReadAll(io.LimitReader(e.Body, maxTextBytes))
		}
	case ct == "message/rfc822" || ct == "text/rfc822-headers" || ct == "message/global" || ct == "message/global-headers":
		if w.original == nil {
			oh, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(e.Body, maxTextBytes)))
			if err == nil || oh.Len() > 0 {
				w.original = &oh
			}
		}
	case strings.HasPrefix(ct, "text/"):
		if w.text.Len() < maxTextBytes {
			b, _ := io.ReadAll(io.LimitReader(e.Body, int64(maxTextBytes-w.text.Len())))
			if ct == "text/html" {
				b = tagRE.ReplaceAll(b, []byte(" "))
			}
			w.text.Write(b)
			w.text.WriteByte('\n')
		}
	}
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// maxField bounds a delivery-status or feedback-report field value.
const maxField = 1000

// fieldBlocks parses the header-like groups of a delivery-status or
// feedback-report body: groups separated by blank lines, folded lines
// joined, names lower-cased.
func fieldBlocks(b []byte) []map[string]string {
	var blocks []map[string]string
	cur := map[string]string{}
	last := ""
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, cur)
		}
		cur, last = map[string]string{}, ""
	}
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			// Bounded: folding a field into many short lines must not
			// make joining them quadratic.
			if len(cur[last]) < maxField {
				cur[last] += " " + strings.TrimSpace(line)
			}
			continue
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.ToLower(strings.TrimSpace(name))
		if _, dup := cur[last]; !dup {
			cur[last] = strings.TrimSpace(val)
		}
	}
	flush()
	return blocks
}

// addrValue strips an RFC 3464 address type: "rfc822; a@b" is a@b.
func addrValue(v string) string {
	if _, a, ok := strings.Cut(v, ";"); ok {
		v = a
	}
	return strings.ToLower(strings.Trim(strings.TrimSpace(v), "<>"))
}

func parseDSN(b []byte) Report {
	blocks := fieldBlocks(b)
	best := Report{Reason: "delivery-status without a recipient"}
	rank := func(c Class) int {
		return map[Class]int{Unknown: 0, Delivered: 1, Soft: 2, Hard: 3}[c]
	}
	for _, f := range blocks {
		rcpt := f["final-recipient"]
		if rcpt == "" {
			rcpt = f["original-recipient"]
		}
		action := strings.ToLower(f["action"])
		if rcpt == "" && action == "" {
			continue // the per-message block
		}
		r := Report{
			Recipient:  addrValue(rcpt),
			Action:     action,
			Status:     statusOf(f["status"]),
			Diagnostic: diagOf(f["diagnostic-code"]),
		}
		if r.Status == "" {
			_, r.Status, _ = textCodes(r.Diagnostic)
		}
		switch action {
		case "delivered", "relayed", "expanded":
			r.Class, r.Reason = Delivered, "DSN action "+action
		case "delayed":
			r.Class, r.Reason = Soft, "DSN action delayed"
		case "failed":
			switch {
			case strings.HasPrefix(r.Status, "5"):
				r.Class, r.Reason = Hard, "DSN failed with "+r.Status
			case strings.HasPrefix(r.Status, "4"):
				r.Class, r.Reason = Soft, "DSN failed with "+r.Status
			default:
				// A failure without a usable status is permanent by the
				// RFC's meaning of "failed".
				r.Class, r.Reason = Hard, "DSN failed without a status"
			}
		default:
			r.Reason = "DSN action " + strings.TrimSpace(action+" unknown")
		}
		if rank(r.Class) > rank(best.Class) || best.Recipient == "" && r.Recipient != "" && rank(r.Class) == rank(best.Class) {
			best = r
		}
	}
	return best
}

var statusRE = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}`)

func statusOf(v string) string {
	return statusRE.FindString(strings.TrimSpace(v))
}

func diagOf(v string) string {
	if t, d, ok := strings.Cut(v, ";"); ok && !strings.ContainsAny(t, " ") {
		v = d
	}
	return trim(strings.TrimSpace(v), 500)
}

func (w *walker) parseARF() Report {
	blocks := fieldBlocks(w.arf)
	if len(blocks) == 0 {
		return Report{Reason: "empty feedback report"}
	}
	f := blocks[0]
	ft := strings.ToLower(f["feedback-type"])
	r := Report{FeedbackType: ft, Recipient: addrValue(f["original-rcpt-to"])}
	if r.Recipient == "" && w.original != nil {
		r.Recipient = firstAddr(w.original.Get("To"))
	}
	switch ft {
	case "abuse", "fraud", "virus", "other":
		r.Class, r.Reason = Complaint, "ARF feedback-type "+ft
	default:
		// not-spam, auth-failure and the unknown: an operator looks.
		r.Reason = "ARF feedback-type " + ft + " is not a complaint"
	}
	return r
}

var addrRE = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+`)

func firstAddr(s string) string { return strings.ToLower(addrRE.FindString(s)) }

var tokenRE = regexp.MustCompile(`(?i)bounces\+([a-z2-7]{8,56})@`)

// findToken looks for a bounces+ address in the headers a bounce is
// addressed with, then in the original message's.
func findToken(h *textproto.Header, orig *textproto.Header) string {
	for _, hh := range []*textproto.Header{h, orig} {
		if hh == nil {
			continue
		}
		for _, k := range []string{"X-Original-To", "Delivered-To", "To", "Return-Path", "Sender"} {
			for _, v := range hh.Values(k) {
				if m := tokenRE.FindStringSubmatch(v); m != nil {
					return strings.ToLower(m[1])
				}
			}
		}
	}
	return ""
}

var bounceSubjectRE = regexp.MustCompile(`(?i)undeliver|delivery status notification|delivery (has )?failed|failure notice|mail delivery (failed|failure|subsystem)|returned mail|could not be delivered|delivery (notification|failure)|not (be )?delivered|non-?delivery|message (delayed|delay)|delivery delayed|warning: message .* delayed`)

// looksBounce reports whether the header says this is mail from a mail
// system about a delivery, not a person's message.
func looksBounce(h message.Header) bool {
	if h.Get("X-Failed-Recipients") != "" {
		return true
	}
	from := strings.ToLower(h.Get("From"))
	if strings.Contains(from, "mailer-daemon") || strings.Contains(from, "postmaster@") || strings.Contains(from, "<postmaster") || strings.Contains(from, "mail delivery") {
		return true
	}
	subj, _ := h.Text("Subject")
	return bounceSubjectRE.MatchString(subj)
}

var (
	enhancedRE = regexp.MustCompile(`(?:^|[^\d.])([45])\.(\d{1,3})\.(\d{1,3})(?:[^\d.]|\.\D|\.$|$)`)
	basicRE    = regexp.MustCompile(`(?m)(?:^|[\s'"(:])([45][0-5]\d)[ -]`)
	permRE     = regexp.MustCompile(`(?i)permanent(ly)? (error|failure|fail)|failed permanently|does not exist|user unknown|no such user|recipient not found|address rejected`)
	tempRE     = regexp.MustCompile(`(?i)temporar(y|ily)|has been delayed|not yet been delivered|will (be )?retr(y|ied)|delivery delayed|still trying`)
)

// textCodes classifies text by the SMTP codes it quotes: an enhanced
// status code first, then a basic reply code, then the words a mail system
// uses; the first code in the text is the one reported.
func textCodes(text string) (Class, string, string) {
	if m := enhancedRE.FindStringSubmatchIndex(text); m != nil {
		st := text[m[2]:m[3]] + "." + text[m[4]:m[5]] + "." + text[m[6]:m[7]]
		c := Hard
		if st[0] == '4' {
			c = Soft
		}
		return c, st, lineAt(text, m[2])
	}
	if m := basicRE.FindStringSubmatchIndex(text); m != nil {
		code := text[m[2]:m[3]]
		c := Hard
		if code[0] == '4' {
			c = Soft
		}
		return c, "", lineAt(text, m[2])
	}
	if tempRE.MatchString(text) {
		return Soft, "", ""
	}
	if permRE.MatchString(text) {
		return Hard, "", ""
	}
	return Unknown, "", ""
}

// lineAt is the trimmed line of text around offset i: the quoted reply.
func lineAt(text string, i int) string {
	start := strings.LastIndexByte(text[:i], '\n') + 1
	end := strings.IndexByte(text[i:], '\n')
	if end < 0 {
		end = len(text)
	} else {
		end += i
	}
	return trim(strings.TrimSpace(text[start:end]), 500)
}

// failedRecipient finds the address a text bounce is about: Exim's
// X-Failed-Recipients, else the first address in the text that is not a
// mail system's own.
func failedRecipient(h message.Header, text string) string {
	if a := firstAddr(h.Get("X-Failed-Recipients")); a != "" {
		return a
	}
	for _, a := range addrRE.FindAllString(text, 50) {
		l := strings.ToLower(a)
		if strings.HasPrefix(l, "mailer-daemon@") || strings.HasPrefix(l, "postmaster@") || strings.HasPrefix(l, "bounces+") {
			continue
		}
		return l
	}
	return ""
}

var quotedIDRE = regexp.MustCompile(`(?im)^\s*Message-ID:\s*<([^>\s]+)>`)

func quotedMessageID(text string) string {
	if m := quotedIDRE.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

var oooSubjectRE = regexp.MustCompile(`(?i)^(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheit|absence|vacation|autoreply|r[ée]ponse automatique|away from)|out of (the )?office`)

// autoReply says why the header marks an automatic answer, or "".
func autoReply(h message.Header) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponse"} {
		if h.Get(k) != "" {
			return k
		}
	}
	if strings.EqualFold(strings.TrimSpace(h.Get("Precedence")), "auto_reply") {
		return "Precedence: auto_reply"
	}
	if strings.EqualFold(h.Get("X-Auto-Response-Suppress"), "All") && strings.Contains(strings.ToLower(h.Get("Subject")), "automatic") {
		return "Exchange automatic reply"
	}
	subj, _ := h.Text("Subject")
	if oooSubjectRE.MatchString(strings.TrimSpace(subj)) {
		return "out-of-office subject"
	}
	return ""
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
