package digest

import (
	"context"
	"strings"
	"time"
)

// FeedbackKind is what a bounce or complaint report says about a message
// Herald sent (docs/ARCHITECTURE.md, "Bounces and complaints").
type FeedbackKind string

const (
	FeedbackHard        FeedbackKind = "hard"
	FeedbackSoft        FeedbackKind = "soft"
	FeedbackComplaint   FeedbackKind = "complaint"
	FeedbackUnsubscribe FeedbackKind = "unsubscribe" // mail to unsubscribe+{token}
)

// Feedback is one bounce, complaint or mailed unsubscribe to apply. It
// names the delivery by run and subscriber (from a VERP token), else by
// MessageID, else the subscriber by Email.
type Feedback struct {
	ID           string // unique per source; a repeat is applied once
	Source       string // "smtp", "ses", "generic", …
	Kind         FeedbackKind
	RunID        int64 // 0: not known
	SubscriberID int64 // 0: not known
	MessageID    string
	Email        string
	Newsletter   string // FeedbackUnsubscribe: "" is every newsletter
	Status       string // enhanced status code ("5.1.1"), when known
	At           time.Time
}

// FeedbackResult is what applying a Feedback did.
type FeedbackResult struct {
	Applied      bool  // false: the event was applied before
	SubscriberID int64 // 0: no subscriber matched
	RunID        int64
	Suppressed   bool // the address went on the suppression list now
}

// Bounce is the bounce rule's kind for a hard bounce report: an enhanced
// status 5.1.x (no such mailbox or domain) is an unknown user, bounced at
// once; any other permanent failure counts toward HardBounceLimit.
func (f Feedback) Bounce() Bounce {
	switch f.Kind {
	case FeedbackSoft:
		return BounceSoft
	case FeedbackHard:
		if strings.HasPrefix(f.Status, "5.1.") || f.Status == "" {
			return BounceUnknownUser
		}
		return BounceHard
	}
	return BounceNone
}

// SuppressReason is why an address is on the suppression list.
type SuppressReason string

const (
	SuppressHard      SuppressReason = "hard"
	SuppressComplaint SuppressReason = "complaint"
)

// Suppression is one address Herald never mails again until an operator
// lifts it or the person confirms a new subscription. Hash is the keyed
// hash of the normalised address (no personal data, so it survives
// erase); Email is filled while a subscriber with the address exists.
type Suppression struct {
	Hash         []byte
	Reason       SuppressReason
	SubscriberID int64
	Email        string
	CreatedAt    time.Time
}

// KeptMessage is an inbound message Herald could not classify, kept for an
// operator and never deleted.
type KeptMessage struct {
	ID        string
	Reason    string
	Raw       []byte
	CreatedAt time.Time
}

// RunFeedback counts a run's bounces and complaints: Hard is deliveries
// now bounced, Soft and Complaints distinct subscribers reported.
type RunFeedback struct {
	Sent, Hard, Soft, Complaints int
}

// HardRate and ComplaintRate are fractions of the messages sent (bounced
// ones included); 0 with nothing sent.
func (r RunFeedback) HardRate() float64      { return rate(r.Hard, r.Sent) }
func (r RunFeedback) ComplaintRate() float64 { return rate(r.Complaints, r.Sent) }

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// Thresholds above which a run's feedback is a warning (Gmail and Yahoo
// bulk-sender guidance).
const (
	HardRateWarn      = 0.02
	ComplaintRateWarn = 0.001
)

// FeedbackStore is what bounce and complaint handling needs of the store.
// Hashes are keyed hashes of normalised addresses (one per token key, the
// current key's first); hash computes the current key's for an address.
type FeedbackStore interface {
	// ApplyFeedback applies f once per (Source, ID) in one transaction: a
	// hard bounce marks the sent delivery bounced and applies the bounce
	// rule (Bounce), suppressing the address once the subscriber is
	// bounced; a soft one counts; a complaint unsubscribes from every
	// newsletter and suppresses; an unsubscribe acts like one-click.
	ApplyFeedback(ctx context.Context, f Feedback, hash func(email string) []byte) (FeedbackResult, error)
	KeepMessage(ctx context.Context, m KeptMessage) error
	// KeptMessages lists kept messages, newest first.
	KeptMessages(ctx context.Context, limit int) ([]KeptMessage, error)
	Suppressions(ctx context.Context) ([]Suppression, error)
	// Suppress adds hash (idempotent).
	Suppress(ctx context.Context, hash []byte, reason SuppressReason, subscriberID int64, now time.Time) error
	// Unsuppress lifts the suppressions matching any of hashes.
	Unsuppress(ctx context.Context, hashes [][]byte) (bool, error)
	Suppressed(ctx context.Context, hashes [][]byte) (bool, error)
	RunFeedback(ctx context.Context, runID int64) (RunFeedback, error)
}
