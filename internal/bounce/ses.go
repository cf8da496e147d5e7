package bounce

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// snsHost is the only kind of host a signing certificate or a
// subscription confirmation is fetched from.
var snsHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// snsURL reports whether raw is an https URL on an SNS host (default
// port only).
func snsURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" || !snsHost.MatchString(u.Hostname()) {
		return nil, false
	}
	return u, true
}

// snsMessage is an Amazon SNS HTTP(S) delivery.
type snsMessage struct {
	Type             string
	MessageId        string
	Token            string
	TopicArn         string
	Subject          *string
	Message          string
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
	SubscribeURL     string
}

// stringToSign is SNS's canonical form: the named fields, each as name,
// newline, value, newline, in this order, the optional ones only when
// present.
func (m *snsMessage) stringToSign() string {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	add("Message", m.Message)
	add("MessageId", m.MessageId)
	if m.Type == "Notification" {
		if m.Subject != nil {
			add("Subject", *m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
		return b.String()
	}
	add("SubscribeURL", m.SubscribeURL)
	add("Timestamp", m.Timestamp)
	add("Token", m.Token)
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	return b.String()
}

// maxCerts bounds the certificate cache; SNS rotates rarely.
const maxCerts = 16

// snsCert returns the signing certificate at raw, fetched once.
func (w *Webhooks) snsCert(r *http.Request, raw string) (*x509.Certificate, error) {
	u, ok := snsURL(raw)
	if !ok || !strings.HasSuffix(u.Path, ".pem") {
		return nil, refuse(http.StatusUnauthorized, "SigningCertURL is not an https SNS certificate URL")
	}
	key := u.String()
	w.certMu.Lock()
	c := w.certs[key]
	w.certMu.Unlock()
	if c != nil {
		return c, nil
	}
	b, err := w.get(r, key, 64<<10)
	if err != nil {
		return nil, fmt.Errorf("bounce: SNS certificate: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("bounce: SNS certificate: no PEM block")
	}
	c, err = x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("bounce: SNS certificate: %w", err)
	}
	w.certMu.Lock()
	if len(w.certs) >= maxCerts {
		clear(w.certs)
	}
	w.certs[key] = c
	w.certMu.Unlock()
	return c, nil
}

func (w *Webhooks) get(r *http.Request, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	// Never follow a redirect off the SNS host.
	c := *w.cfg.HTTPClient
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

// ses: an SNS message (signature versions 1 and 2) from the pinned topic
// carrying an SES bounce or complaint notification.
func (w *Webhooks) ses(r *http.Request, body []byte) ([]Event, string, error) {
	var m snsMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, "", badBody(err)
	}
	if m.TopicArn != w.cfg.SESTopicARN {
		return nil, "", refuse(http.StatusForbidden, "TopicArn is not the configured topic")
	}
	var hash crypto.Hash
	switch m.SignatureVersion {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return nil, "", refuse(http.StatusUnauthorized, "unknown SignatureVersion")
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return nil, "", errSignature
	}
	cert, err := w.snsCert(r, m.SigningCertURL)
	if err != nil {
		return nil, "", err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, "", errSignature
	}
	var sum []byte
	if hash == crypto.SHA1 {
		s := sha1.Sum([]byte(m.stringToSign()))
		sum = s[:]
	} else {
		s := sha256.Sum256([]byte(m.stringToSign()))
		sum = s[:]
	}
	if rsa.VerifyPKCS1v15(pub, hash, sum, sig) != nil {
		return nil, "", errSignature
	}
	switch m.Type {
	case "SubscriptionConfirmation":
		if _, ok := snsURL(m.SubscribeURL); !ok {
			return nil, "", refuse(http.StatusBadRequest, "SubscribeURL is not an https SNS URL")
		}
		if _, err := w.get(r, m.SubscribeURL, 64<<10); err != nil {
			return nil, "", fmt.Errorf("bounce: confirm SNS subscription: %w", err)
		}
		w.log.Info("bounce webhook: SNS subscription confirmed", "topic", m.TopicArn)
		return nil, "", nil
	case "Notification":
		evs, err := sesEvents(m.Message)
		return evs, "", err
	}
	return nil, "", nil // UnsubscribeConfirmation: nothing to do
}

func sesEvents(msg string) ([]Event, error) {
	type rcpt struct {
		EmailAddress   string `json:"emailAddress"`
		Status         string `json:"status"`
		DiagnosticCode string `json:"diagnosticCode"`
	}
	var n struct {
		NotificationType string `json:"notificationType"`
		EventType        string `json:"eventType"`
		Bounce           struct {
			BounceType        string    `json:"bounceType"`
			BouncedRecipients []rcpt    `json:"bouncedRecipients"`
			Timestamp         time.Time `json:"timestamp"`
			FeedbackID        string    `json:"feedbackId"`
		} `json:"bounce"`
		Complaint struct {
			ComplainedRecipients  []rcpt    `json:"complainedRecipients"`
			Timestamp             time.Time `json:"timestamp"`
			FeedbackID            string    `json:"feedbackId"`
			ComplaintFeedbackType string    `json:"complaintFeedbackType"`
		} `json:"complaint"`
		Mail struct {
			CommonHeaders struct {
				MessageID string `json:"messageId"`
			} `json:"commonHeaders"`
		} `json:"mail"`
	}
	if err := json.Unmarshal([]byte(msg), &n); err != nil {
		return nil, badBody(err)
	}
	typ := n.NotificationType
	if typ == "" {
		typ = n.EventType // SES event publishing
	}
	mid := strings.Trim(n.Mail.CommonHeaders.MessageID, "<>")
	var out []Event
	switch typ {
	case "Bounce":
		c := Soft // Transient and Undetermined
		if n.Bounce.BounceType == "Permanent" {
			c = Hard
		}
		for _, r := range n.Bounce.BouncedRecipients {
			out = append(out, Event{ID: "ses:" + n.Bounce.FeedbackID + ":" + strings.ToLower(r.EmailAddress), Source: "ses", Class: c,
				Email: strings.ToLower(r.EmailAddress), MessageID: mid, Status: statusOf(r.Status), Diagnostic: trim(r.DiagnosticCode, 500), Time: n.Bounce.Timestamp})
		}
		if n.Bounce.FeedbackID == "" {
			return nil, refuse(http.StatusBadRequest, "bounce without feedbackId")
		}
	case "Complaint":
		if n.Complaint.ComplaintFeedbackType == "not-spam" {
			return nil, nil
		}
		for _, r := range n.Complaint.ComplainedRecipients {
			out = append(out, Event{ID: "ses:" + n.Complaint.FeedbackID + ":" + strings.ToLower(r.EmailAddress), Source: "ses", Class: Complaint,
				Email: strings.ToLower(r.EmailAddress), MessageID: mid, Time: n.Complaint.Timestamp})
		}
		if n.Complaint.FeedbackID == "" {
			return nil, refuse(http.StatusBadRequest, "complaint without feedbackId")
		}
	}
	return out, nil
}
