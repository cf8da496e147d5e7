package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/bounce"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/prometheus/client_golang/prometheus"
)

// suppressionHasher computes the keyed hashes the suppression list keeps
// instead of addresses: HMAC-SHA256 with each token key of the address,
// lower-cased (the store compares addresses ignoring case). The first key
// is the current one; the others find entries made before a rotation.
type suppressionHasher struct{ keys [][]byte }

func (h suppressionHasher) hashWith(key []byte, email string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("herald suppression\x00"))
	m.Write([]byte(strings.ToLower(strings.TrimSpace(email))))
	return m.Sum(nil)
}

// Hash is the current key's hash of email.
func (h suppressionHasher) Hash(email string) []byte { return h.hashWith(h.keys[0], email) }

// All are the hashes of email under every key.
func (h suppressionHasher) All(email string) [][]byte {
	out := make([][]byte, len(h.keys))
	for i, k := range h.keys {
		out[i] = h.hashWith(k, email)
	}
	return out
}

// feedbackStore is what the bounce handler needs of the store.
type feedbackStore interface {
	digest.FeedbackStore
	GetSubscriber(ctx context.Context, id int64) (*subscribe.Subscriber, error)
}

// bounceHandler applies what the inbound listener and the webhooks learn
// (bounce.MailHandler) to the store, and warns when a run's rates pass the
// bulk-sender limits.
type bounceHandler struct {
	st         feedbackStore
	hash       suppressionHasher
	log        *slog.Logger
	now        func() time.Time
	bounces    *prometheus.CounterVec
	complaints prometheus.Counter

	mu       sync.Mutex
	warnings map[int64]string // run id → why its rates are too high
}

func newBounceHandler(st feedbackStore, keys [][]byte, log *slog.Logger, reg prometheus.Registerer) *bounceHandler {
	h := &bounceHandler{st: st, hash: suppressionHasher{keys}, log: log, now: time.Now, warnings: map[int64]string{},
		bounces: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "herald", Name: "mail_bounces_total",
			Help: "Bounces applied, by type (hard, soft)."}, []string{"type"}),
		complaints: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "herald", Name: "mail_complaints_total",
			Help: "Complaints applied (feedback reports and provider events)."}),
	}
	h.bounces.WithLabelValues("hard")
	h.bounces.WithLabelValues("soft")
	if reg != nil {
		reg.MustRegister(h.bounces, h.complaints)
	}
	return h
}

// HandleEvent applies ev once (the store ignores a repeated event id).
func (h *bounceHandler) HandleEvent(ctx context.Context, ev bounce.Event) error {
	f := digest.Feedback{ID: ev.ID, Source: ev.Source, Email: ev.Email, MessageID: ev.MessageID, Status: ev.Status, At: ev.Time}
	if f.At.IsZero() {
		f.At = h.now()
	}
	switch ev.Class {
	case bounce.Hard:
		f.Kind = digest.FeedbackHard
	case bounce.Soft:
		f.Kind = digest.FeedbackSoft
	case bounce.Complaint:
		f.Kind = digest.FeedbackComplaint
	case bounce.Unsubscribe:
		f.Kind = digest.FeedbackUnsubscribe
	default:
		return nil
	}
	if t := ev.Token; t != nil {
		f.RunID, f.SubscriberID, f.Newsletter = t.RunID, t.SubscriberID, t.Newsletter
	}
	if f.Email != "" {
		if e, err := subscribe.NormalizeEmail(f.Email); err == nil {
			f.Email = e
		}
	}
	res, err := h.st.ApplyFeedback(ctx, f, h.hash.Hash)
	if err != nil {
		return err
	}
	if !res.Applied {
		return nil
	}
	switch f.Kind {
	case digest.FeedbackHard, digest.FeedbackSoft:
		h.bounces.WithLabelValues(string(f.Kind)).Inc()
	case digest.FeedbackComplaint:
		h.complaints.Inc()
	}
	h.log.Info("bounce applied", slog.String("type", string(f.Kind)), slog.String("source", f.Source),
		slog.Int64("run", res.RunID), slog.Int64("subscriber", res.SubscriberID), slog.String("status", f.Status),
		slog.Bool("suppressed", res.Suppressed))
	if res.RunID != 0 && f.Kind != digest.FeedbackUnsubscribe {
		h.checkRun(ctx, res.RunID)
	}
	return nil
}

// checkRun warns once per run when its hard-bounce or complaint rate
// passes the bulk-sender limits; /readyz shows the warning.
func (h *bounceHandler) checkRun(ctx context.Context, runID int64) {
	rf, err := h.st.RunFeedback(ctx, runID)
	if err != nil {
		h.log.Warn("run feedback", slog.Int64("run", runID), slog.Any("err", err))
		return
	}
	why := rateWarning(rf)
	if why == "" {
		return
	}
	h.mu.Lock()
	old := h.warnings[runID]
	h.warnings[runID] = why
	h.mu.Unlock()
	if old == "" {
		h.log.Warn("digest run over the bounce or complaint limit", slog.Int64("run", runID), slog.String("why", why),
			slog.Int("sent", rf.Sent), slog.Int("hard", rf.Hard), slog.Int("complaints", rf.Complaints))
	}
}

// rateWarning says why a run's rates are too high, or "".
func rateWarning(rf digest.RunFeedback) string {
	var why []string
	if rf.HardRate() > digest.HardRateWarn {
		why = append(why, fmt.Sprintf("hard-bounce rate %.2f%% over %.0f%%", 100*rf.HardRate(), 100*digest.HardRateWarn))
	}
	if rf.ComplaintRate() > digest.ComplaintRateWarn {
		why = append(why, fmt.Sprintf("complaint rate %.2f%% over %.1f%%", 100*rf.ComplaintRate(), 100*digest.ComplaintRateWarn))
	}
	return strings.Join(why, ", ")
}

// Warnings are the runs whose rates passed a limit, for /readyz: a
// warning, not a failure.
func (h *bounceHandler) Warnings() map[int64]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[int64]string, len(h.warnings))
	for k, v := range h.warnings {
		out[k] = v
	}
	return out
}

// Keep stores a message the listener could not classify.
func (h *bounceHandler) Keep(ctx context.Context, id string, raw []byte, reason string) error {
	h.log.Warn("inbound bounce mail kept unclassified", slog.String("id", id), slog.String("reason", reason))
	return h.st.KeepMessage(ctx, digest.KeptMessage{ID: id, Reason: reason, Raw: raw, CreatedAt: h.now()})
}

// LinkSecret is the subscriber's link secret, which every token's MAC
// covers: an erased subscriber's tokens no longer verify.
func (h *bounceHandler) LinkSecret(ctx context.Context, id int64) ([]byte, bool, error) {
	sub, err := h.st.GetSubscriber(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return sub.LinkSecret, true, nil
}

// webhookConfig is bounces.webhooks as the bounce package wants it.
func webhookConfig(cfg *Config) bounce.WebhookConfig {
	w := cfg.Bounces.Webhooks
	c := bounce.WebhookConfig{PostmarkUser: w.Postmark.Username, PostmarkPassword: w.Postmark.Password,
		SendGridKey: w.SendGrid.PublicKey, SESTopicARN: w.SES.TopicARN}
	if w.Generic.Secret != "" {
		c.Generic = []byte(w.Generic.Secret)
	}
	if w.Mailgun.SigningKey != "" {
		c.MailgunKey = []byte(w.Mailgun.SigningKey)
	}
	return c
}

// bounceWiring is what serve runs for bounces: the webhooks (always, each
// provider only when configured) and the inbound listener (with
// mail.bounce.listen).
type bounceWiring struct {
	handler  *bounceHandler
	webhooks *bounce.Webhooks
	listener *bounce.Listener
	ln       net.Listener
}

func startBounces(ctx context.Context, cfg *Config, st feedbackStore, keys [][]byte, log *slog.Logger, reg prometheus.Registerer) (*bounceWiring, error) {
	h := newBounceHandler(st, keys, log, reg)
	wh, err := bounce.NewWebhooks(webhookConfig(cfg), h, log)
	if err != nil {
		return nil, fmt.Errorf("bounces.webhooks: %w", err)
	}
	b := &bounceWiring{handler: h, webhooks: wh}
	if cfg.Mail.Bounce.Listen != "" {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", cfg.Mail.Bounce.Listen)
		if err != nil {
			return nil, fmt.Errorf("mail.bounce.listen: %w", err)
		}
		b.ln = ln
		b.listener = bounce.NewListener(bounce.ListenerConfig{Addr: cfg.Mail.Bounce.Listen, Domain: cfg.Mail.Bounce.Domain},
			bounce.NewTokens(keys), h, log)
		log.Info("bounce listener", slog.String("addr", ln.Addr().String()), slog.String("domain", cfg.Mail.Bounce.Domain))
	}
	return b, nil
}

// serve runs the listener until ctx ends (shutdown).
func (b *bounceWiring) serve(ctx context.Context, log *slog.Logger) {
	if b.listener == nil {
		return
	}
	if err := b.listener.Serve(ctx, b.ln); err != nil && ctx.Err() == nil {
		log.Error("bounce listener stopped", slog.Any("err", err))
	}
}

// provider is the handler of /webhooks/bounces/{provider}; nil: none.
func (b *bounceWiring) provider(name string) http.Handler { return b.webhooks.Handler(name) }

// readyWarnings are the runs over a limit, for /readyz.
func (h *bounceHandler) readyWarnings() map[string]string {
	w := h.Warnings()
	if len(w) == 0 {
		return nil
	}
	out := make(map[string]string, len(w))
	for id, why := range w {
		out[fmt.Sprintf("run %d", id)] = why
	}
	return out
}

// verpAddresses makes the per-recipient addresses under
// mail.bounce.domain (digest.BounceAddresses).
type verpAddresses struct {
	tokens *bounce.Tokens
	domain string
}

func (v verpAddresses) ReturnPath(runID, subscriberID int64, secret []byte) (string, error) {
	tok, err := v.tokens.Delivery(runID, subscriberID, secret)
	if err != nil {
		return "", err
	}
	return bounce.ReturnPath(tok, v.domain), nil
}

func (v verpAddresses) UnsubscribeMailto(subscriberID int64, newsletter string, secret []byte) (string, error) {
	tok, err := v.tokens.Unsubscribe(subscriberID, newsletter, secret)
	if err != nil {
		return "", err
	}
	return bounce.UnsubscribeAddress(tok, v.domain), nil
}

// mailReturnPath is bounces+{token}@domain for a subscriber mail (confirm,
// welcome) of kind.
func (v verpAddresses) mailReturnPath(subscriberID int64, kind string, secret []byte) (string, error) {
	tok, err := v.tokens.SubscriberMail(subscriberID, kind, secret)
	if err != nil {
		return "", err
	}
	return bounce.ReturnPath(tok, v.domain), nil
}

// newVERP is nil without mail.bounce.domain.
func newVERP(cfg *Config, keys [][]byte) *verpAddresses {
	if cfg.Mail.Bounce.Domain == "" {
		return nil
	}
	return &verpAddresses{tokens: bounce.NewTokens(keys), domain: cfg.Mail.Bounce.Domain}
}

// storeSuppression is the suppression list by address (subscribe.Suppression).
type storeSuppression struct {
	st   feedbackStore
	hash suppressionHasher
}

func (s storeSuppression) IsSuppressed(ctx context.Context, email string) (bool, error) {
	return s.st.Suppressed(ctx, s.hash.All(email))
}

func (s storeSuppression) Lift(ctx context.Context, email string) (bool, error) {
	return s.st.Unsuppress(ctx, s.hash.All(email))
}

// apiSuppressions is the suppression list for the admin API.
type apiSuppressions struct{ storeSuppression }

func (a apiSuppressions) Suppressions(ctx context.Context) ([]digest.Suppression, error) {
	return a.st.Suppressions(ctx)
}

func (a apiSuppressions) Lift(ctx context.Context, email string) (bool, error) {
	e, err := subscribe.NormalizeEmail(email)
	if err != nil {
		return false, err
	}
	return a.storeSuppression.Lift(ctx, e)
}
