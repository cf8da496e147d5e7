package bounce

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WebhookConfig holds each provider's verification settings; a provider
// without them has no handler.
type WebhookConfig struct {
	// Generic is the shared secret of the generic format.
	Generic []byte
	// PostmarkUser and PostmarkPassword are the webhook's basic auth.
	PostmarkUser, PostmarkPassword string
	// SendGridKey is the event webhook's verification key as SendGrid
	// shows it: base64 of a DER (PKIX) ECDSA P-256 public key.
	SendGridKey string
	// MailgunKey is the HTTP webhook signing key.
	MailgunKey []byte
	// SESTopicARN pins the SNS topic; messages from any other are refused.
	SESTopicARN string
	// HTTPClient fetches SNS signing certificates and confirms
	// subscriptions; nil: a client with a 10s timeout. Only https URLs on
	// an SNS host are ever fetched, whatever the client.
	HTTPClient *http.Client
	// MaxBody bounds a request body; default 1 MiB.
	MaxBody int64
}

// Webhooks verifies provider webhooks and turns them into Events.
type Webhooks struct {
	cfg    WebhookConfig
	h      EventHandler
	log    *slog.Logger
	sgKey  *ecdsa.PublicKey
	replay *replayCache
	certMu sync.Mutex
	certs  map[string]*x509.Certificate
}

// Providers are the {provider} names under /webhooks/bounces/.
var Providers = []string{"ses", "postmark", "sendgrid", "mailgun", "generic"}

// NewWebhooks checks cfg (a bad SendGrid key is an error) and returns the
// handlers.
func NewWebhooks(cfg WebhookConfig, h EventHandler, log *slog.Logger) (*Webhooks, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	w := &Webhooks{cfg: cfg, h: h, log: log, replay: newReplayCache(100_000), certs: map[string]*x509.Certificate{}}
	if cfg.SendGridKey != "" {
		der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cfg.SendGridKey))
		if err != nil {
			return nil, fmt.Errorf("bounce: sendgrid key: %w", err)
		}
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			return nil, fmt.Errorf("bounce: sendgrid key: %w", err)
		}
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, errors.New("bounce: sendgrid key is not ECDSA")
		}
		w.sgKey = k
	}
	return w, nil
}

// Handler returns the http.Handler for provider, or nil when it is not
// configured (the route then answers 404).
func (w *Webhooks) Handler(provider string) http.Handler {
	var f func(*http.Request, []byte) ([]Event, string, error)
	switch provider {
	case "generic":
		if len(w.cfg.Generic) > 0 {
			f = w.generic
		}
	case "postmark":
		if w.cfg.PostmarkUser != "" || w.cfg.PostmarkPassword != "" {
			f = w.postmark
		}
	case "sendgrid":
		if w.sgKey != nil {
			f = w.sendgrid
		}
	case "mailgun":
		if len(w.cfg.MailgunKey) > 0 {
			f = w.mailgun
		}
	case "ses":
		if w.cfg.SESTopicARN != "" {
			f = w.ses
		}
	}
	if f == nil {
		return nil
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			rw.Header().Set("Allow", http.MethodPost)
			http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, w.cfg.MaxBody))
		if err != nil {
			http.Error(rw, "body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		events, replayTok, err := f(r, body)
		var he *httpError
		switch {
		case errors.As(err, &he):
			if he.code == http.StatusUnauthorized && provider == "postmark" {
				rw.Header().Set("WWW-Authenticate", `Basic realm="herald"`)
			}
			w.log.Info("bounce webhook refused", "provider", provider, "status", he.code, "why", he.msg)
			http.Error(rw, he.msg, he.code)
			return
		case err != nil:
			// A certificate or subscription fetch that failed: the
			// provider retries, and it may be the network, not Herald.
			w.log.Warn("bounce webhook", "provider", provider, "err", err)
			http.Error(rw, "try again later", http.StatusBadGateway)
			return
		}
		for _, ev := range events {
			if err := w.h.HandleEvent(r.Context(), ev); err != nil {
				w.log.Error("bounce webhook: handle event", "provider", provider, "id", ev.ID, "err", err)
				http.Error(rw, "try again later", http.StatusInternalServerError)
				return
			}
		}
		w.replay.add(replayTok, time.Now())
		rw.WriteHeader(http.StatusOK)
	})
}

// httpError is a refusal the provider sees as 4xx.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func refuse(code int, msg string) error { return &httpError{code, msg} }

var errSignature = refuse(http.StatusUnauthorized, "bad signature")

func badBody(err error) error {
	return refuse(http.StatusBadRequest, "malformed body: "+trim(err.Error(), 200))
}

// skew is how far a signed timestamp may be from now.
const skew = 5 * time.Minute

func fresh(ts int64, now time.Time) bool {
	d := now.Sub(time.Unix(ts, 0))
	return d <= skew && d >= -skew
}

func parseClass(typ, bounceType string) (Class, bool) {
	switch {
	case typ == "complaint":
		return Complaint, true
	case typ == "bounce" && bounceType == "hard":
		return Hard, true
	case typ == "bounce" && bounceType == "soft":
		return Soft, true
	}
	return Unknown, false
}

// generic: see the package documentation.
func (w *Webhooks) generic(r *http.Request, body []byte) ([]Event, string, error) {
	tsRaw := r.Header.Get("X-Herald-Timestamp")
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil || !fresh(ts, time.Now()) {
		return nil, "", refuse(http.StatusUnauthorized, "missing or stale X-Herald-Timestamp")
	}
	sig, ok := strings.CutPrefix(r.Header.Get("X-Herald-Signature"), "sha256=")
	got, herr := hex.DecodeString(sig)
	if !ok || herr != nil {
		return nil, "", errSignature
	}
	m := hmac.New(sha256.New, w.cfg.Generic)
	m.Write([]byte(tsRaw + "."))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), got) {
		return nil, "", errSignature
	}
	var p struct {
		Events []struct {
			ID         string    `json:"id"`
			Type       string    `json:"type"`
			BounceType string    `json:"bounce_type"`
			Email      string    `json:"email"`
			MessageID  string    `json:"message_id"`
			Time       time.Time `json:"time"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, "", badBody(err)
	}
	var out []Event
	for _, e := range p.Events {
		c, ok := parseClass(e.Type, e.BounceType)
		if !ok || e.ID == "" || e.Email == "" {
			return nil, "", refuse(http.StatusBadRequest, fmt.Sprintf("event %q: need id, email and type bounce (bounce_type hard or soft) or complaint", e.ID))
		}
		out = append(out, Event{ID: "generic:" + e.ID, Source: "generic", Class: c, Email: strings.ToLower(e.Email), MessageID: strings.Trim(e.MessageID, "<>"), Time: e.Time})
	}
	return out, "", nil
}

// postmark: basic auth, then a Bounce or SpamComplaint record.
func (w *Webhooks) postmark(r *http.Request, body []byte) ([]Event, string, error) {
	u, p, ok := r.BasicAuth()
	uok := subtle.ConstantTimeCompare([]byte(u), []byte(w.cfg.PostmarkUser))
	pok := subtle.ConstantTimeCompare([]byte(p), []byte(w.cfg.PostmarkPassword))
	if !ok || uok&pok != 1 {
		return nil, "", refuse(http.StatusUnauthorized, "bad credentials")
	}
	var e struct {
		RecordType  string
		ID          json.Number
		Type        string
		MessageID   string
		Email       string
		Details     string
		Description string
		BouncedAt   time.Time
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, "", badBody(err)
	}
	var c Class
	switch {
	case e.RecordType == "SpamComplaint" || e.Type == "SpamComplaint":
		c = Complaint
	case e.RecordType != "Bounce":
		return nil, "", nil // delivery, open, click: nothing to do
	default:
		switch e.Type {
		case "HardBounce", "BadEmailAddress", "Blocked", "ManuallyDeactivated", "Unsubscribe":
			c = Hard
		case "SoftBounce", "Transient", "DnsError", "ChallengeVerification":
			c = Soft
		default:
			// AutoResponder, SpamNotification, Subscribe, Undeliverable
			// and the like change nothing.
			return nil, "", nil
		}
	}
	if e.ID.String() == "" || e.Email == "" {
		return nil, "", refuse(http.StatusBadRequest, "record without ID or Email")
	}
	return []Event{{ID: "postmark:" + e.ID.String(), Source: "postmark", Class: c, Email: strings.ToLower(e.Email), Diagnostic: trim(e.Details, 500), Time: e.BouncedAt}}, "", nil
}

// SendGrid's signed event webhook headers.
const (
	sgSigHeader = "X-Twilio-Email-Event-Webhook-Signature"
	sgTSHeader  = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// sendgrid: ECDSA over timestamp + body, then an array of events.
func (w *Webhooks) sendgrid(r *http.Request, body []byte) ([]Event, string, error) {
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get(sgSigHeader))
	ts := r.Header.Get(sgTSHeader)
	if err != nil || len(sig) == 0 || ts == "" {
		return nil, "", errSignature
	}
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(body)
	if !ecdsa.VerifyASN1(w.sgKey, h.Sum(nil), sig) {
		return nil, "", errSignature
	}
	var evs []struct {
		Email   string `json:"email"`
		Event   string `json:"event"`
		Type    string `json:"type"`
		ID      string `json:"sg_event_id"`
		SMTPID  string `json:"smtp-id"`
		Status  string `json:"status"`
		Reason  string `json:"reason"`
		Unix    int64  `json:"timestamp"`
		Bounced string `json:"bounce_classification"`
	}
	if err := json.Unmarshal(body, &evs); err != nil {
		return nil, "", badBody(err)
	}
	var out []Event
	for _, e := range evs {
		var c Class
		switch {
		case e.Event == "spamreport":
			c = Complaint
		case e.Event == "bounce" && e.Type == "blocked":
			c = Soft // refused for reputation or content: not the address
		case e.Event == "bounce":
			c = Hard
		default:
			continue // processed, deferred, delivered, dropped, opens…
		}
		if e.ID == "" || e.Email == "" {
			return nil, "", refuse(http.StatusBadRequest, "event without sg_event_id or email")
		}
		out = append(out, Event{ID: "sendgrid:" + e.ID, Source: "sendgrid", Class: c, Email: strings.ToLower(e.Email),
			MessageID: strings.Trim(e.SMTPID, "<>"), Status: statusOf(e.Status), Diagnostic: trim(e.Reason, 500), Time: time.Unix(e.Unix, 0).UTC()})
	}
	return out, "", nil
}

// mailgun: HMAC-SHA256(key, timestamp + token), fresh, token not seen.
func (w *Webhooks) mailgun(r *http.Request, body []byte) ([]Event, string, error) {
	var p struct {
		Signature struct {
			Timestamp string `json:"timestamp"`
			Token     string `json:"token"`
			Signature string `json:"signature"`
		} `json:"signature"`
		Data struct {
			ID        string  `json:"id"`
			Event     string  `json:"event"`
			Severity  string  `json:"severity"`
			Recipient string  `json:"recipient"`
			Timestamp float64 `json:"timestamp"`
			Message   struct {
				Headers struct {
					MessageID string `json:"message-id"`
				} `json:"headers"`
			} `json:"message"`
			Status struct {
				Code        int    `json:"code"`
				Message     string `json:"message"`
				Description string `json:"description"`
			} `json:"delivery-status"`
		} `json:"event-data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, "", badBody(err)
	}
	s := p.Signature
	got, err := hex.DecodeString(s.Signature)
	if err != nil || s.Token == "" {
		return nil, "", errSignature
	}
	m := hmac.New(sha256.New, w.cfg.MailgunKey)
	m.Write([]byte(s.Timestamp + s.Token))
	if !hmac.Equal(m.Sum(nil), got) {
		return nil, "", errSignature
	}
	ts, err := strconv.ParseInt(s.Timestamp, 10, 64)
	if d := time.Since(time.Unix(ts, 0)); err != nil || d > mailgunWindow || d < -skew {
		return nil, "", refuse(http.StatusNotAcceptable, "stale timestamp")
	}
	if w.replay.seen(s.Token, time.Now()) {
		return nil, "", refuse(http.StatusNotAcceptable, "replayed token")
	}
	d := p.Data
	var c Class
	switch {
	case d.Event == "complained":
		c = Complaint
	case d.Event == "failed" && d.Severity == "permanent":
		c = Hard
	case d.Event == "failed" && d.Severity == "temporary":
		c = Soft
	default:
		return nil, s.Token, nil
	}
	if d.ID == "" || d.Recipient == "" {
		return nil, "", refuse(http.StatusBadRequest, "event without id or recipient")
	}
	diag := d.Status.Description
	if diag == "" {
		diag = d.Status.Message
	}
	if d.Status.Code != 0 {
		diag = strconv.Itoa(d.Status.Code) + " " + diag
	}
	sec := int64(d.Timestamp)
	return []Event{{ID: "mailgun:" + d.ID, Source: "mailgun", Class: c, Email: strings.ToLower(d.Recipient),
		MessageID: strings.Trim(d.Message.Headers.MessageID, "<>"), Diagnostic: trim(diag, 500), Status: statusOf(d.Status.Message),
		Time: time.Unix(sec, int64((d.Timestamp-float64(sec))*1e9)).UTC()}}, s.Token, nil
}

// mailgunWindow is how old a Mailgun signature may be. Mailgun may retry
// a delivery for hours and does not document re-signing retries, so the
// window spans its retries; within it the replay cache refuses a token
// seen before.
const mailgunWindow = 24 * time.Hour

// replayCache remembers Mailgun tokens for the signature window plus the
// clock skew: older ones fail the timestamp check anyway. It prunes as it
// adds, so there is no loop to stop, and is bounded in size.
type replayCache struct {
	mu  sync.Mutex
	max int
	at  map[string]time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, at: map[string]time.Time{}}
}

func (c *replayCache) seen(tok string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[tok]
	return ok && now.Sub(t) <= mailgunWindow+skew
}

// add records tok once its events were handled: a request that failed
// may be retried with the same token.
func (c *replayCache) add(tok string, now time.Time) {
	if tok == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.at) >= c.max {
		for k, t := range c.at {
			if now.Sub(t) > mailgunWindow+skew {
				delete(c.at, k)
			}
		}
		if len(c.at) >= c.max {
			clear(c.at) // a flood of valid tokens: forget rather than grow
		}
	}
	c.at[tok] = now
}
