// Package digest is Herald's newsletter engine: schedules (robfig/cron,
// per newsletter and time zone), run planning with catch-up, composition
// (one HTML and text rendering per run and topic variant, CSS inlined), and
// the delivery workers that personalise, send and record every message.
//
// It declares the small interfaces it needs of the outside world: Store
// (runs and deliveries), Mailer (encoding and sending) and Links (signed
// unsubscribe and preference URLs).
package digest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// Kind says why a run exists.
type Kind string

const (
	KindScheduled Kind = "scheduled" // a schedule slot
	KindManual    Kind = "manual"    // `digest send --now`: moves the window, is no slot
	KindTest      Kind = "test"      // `digest send --test-to`: changes nothing
)

// RunStatus is where a run stands (docs/ARCHITECTURE.md, "Digest runs").
type RunStatus string

const (
	RunPlanned   RunStatus = "planned"
	RunSending   RunStatus = "sending"
	RunPaused    RunStatus = "paused"
	RunCancelled RunStatus = "cancelled"
	RunDone      RunStatus = "done"
	RunSkipped   RunStatus = "skipped" // nothing to send and not send_if_empty
	// RunFailed: composing or rendering the digest failed; nothing more
	// is sent, its articles go with the next run, its slot stays used.
	RunFailed RunStatus = "failed"
)

// DeliveryStatus is where one recipient's message stands.
type DeliveryStatus string

const (
	DeliveryPending DeliveryStatus = "pending"
	DeliverySending DeliveryStatus = "sending"
	DeliverySent    DeliveryStatus = "sent"
	DeliveryFailed  DeliveryStatus = "failed"
	DeliverySkipped DeliveryStatus = "skipped"
	// DeliveryBounced: sent, then a hard bounce arrived for it (a DSN or a
	// provider's event).
	DeliveryBounced DeliveryStatus = "bounced"
)

// Run is one digest of one newsletter.
type Run struct {
	ID         int64
	Newsletter string
	Slot       string    // unique per newsletter: wall clock in its zone, or manual-/test- keys
	SlotAt     time.Time // the instant (UTC)
	Kind       Kind
	Status     RunStatus
	Subject    string
	Articles   int // how many articles it carries
	Recipients int // deliveries planned
	CreatedAt  time.Time
	StartedAt  time.Time // zero until delivery starts
	FinishedAt time.Time // zero until done
	Failure    string    // why a failed run failed
}

// Counts are a run's deliveries by status.
type Counts struct {
	Planned, Pending, Sending, Sent, Failed, Skipped int
	Bounced                                          int // sent, then hard-bounced (not in Sent)
}

// Open is how many deliveries are not settled yet.
func (c Counts) Open() int { return c.Pending + c.Sending }

// State is what a newsletter remembers between runs.
type State struct {
	Horizon    time.Time // articles dated at or before it never go out
	FirstRunAt time.Time
	LastSlot   string    // latest scheduled slot planned ("" if none)
	LastSlotAt time.Time // zero if only manual runs so far
}

// Variant is a rendered digest: the web page ("web"), every article
// ("all"), or one topic selection ("a:3,9"), kept with its run.
type Variant struct {
	Key     string
	Subject string
	HTML    string // CSS inlined; personal values as mail.Slot markers
	Text    string
}

// Variant keys.
const (
	VariantWeb = "web"
	VariantAll = "all"
)

// Claim is one delivery a worker holds under a lease.
type Claim struct {
	SubscriberID int64
	Email, Name  string
	LinkSecret   []byte   // bound into the subscriber's links (Links)
	Tags         []string // topic tags (slugs); empty: every article
	Language     string   // the subscriber's language; "": the newsletter's
	Attempts     int      // including this one
	LeaseUntil   time.Time
}

// Outcome is what became of one claimed delivery.
type Outcome struct {
	SubscriberID int64
	Status       DeliveryStatus // sent, failed, skipped; pending to retry or give back
	Reply        string         // SMTP reply or reason
	MessageID    string
	At           time.Time
	NextAttempt  time.Time // for pending
	Release      bool      // pending without using up the attempt (shutdown, lease ran out)
	Lease        time.Time // the claim's lease: a retry or release applies only while it holds
	Bounce       Bounce
}

// Bounce is what a failure counts toward on the subscriber.
type Bounce int

const (
	BounceNone Bounce = iota
	// BounceSoft: temporary failures used up every attempt (soft_failures + 1).
	BounceSoft
	// BounceHard: a 5xx reply (hard_failures + 1; bounced at 3).
	BounceHard
	// BounceUnknownUser: a 5xx saying the mailbox does not exist
	// (550/551/553 or 5.1.x): hard_failures + 1 and bounced at once.
	BounceUnknownUser
)

// HardBounceLimit is how many 5xx replies mark an address bounced.
const HardBounceLimit = 3

// Bounces reports whether a failure of kind b makes an active subscriber
// bounced, hard being its hard failures with this one counted. The store
// only counts; the rule lives here so every backend applies it alike.
func (b Bounce) Bounces(hard int) bool {
	switch b {
	case BounceUnknownUser:
		return true
	case BounceHard:
		return hard >= HardBounceLimit
	}
	return false
}

// DeliveryRow is one recipient's outcome, for `digest status --run`.
type DeliveryRow struct {
	SubscriberID int64
	Email        string // empty once the subscriber is erased
	Status       DeliveryStatus
	Attempts     int
	Reply        string
	MessageID    string
	SentAt       time.Time
}

// ErrAlreadyPlanned: the slot has a run already (another process, a
// restart, or a daylight-saving repeat planned it).
var ErrAlreadyPlanned = errors.New("digest: slot already planned")

// ErrRunFailed: the run could not be composed or rendered and is now
// failed as a whole (RunFailed).
var ErrRunFailed = errors.New("digest: run failed")

// ErrRunState: the run's status does not allow the change asked for (a
// done run cannot be paused or cancelled, only a paused one resumed).
var ErrRunState = errors.New("digest: not possible in the run's status")

// ErrUnknownNewsletter: no newsletter with that id is configured.
var ErrUnknownNewsletter = errors.New("digest: unknown newsletter")

// ErrSendFailed: the mail transport refused or failed a message sent
// while the caller waits (a test send).
var ErrSendFailed = errors.New("digest: sending failed")

// ErrNoMatch: no article of the digest matches a subscriber's topics, so
// they would be skipped (a preview as them shows nothing).
var ErrNoMatch = errors.New("digest: no article matches the subscriber's topics")

// The messages a store answers with about runs, written here so every
// backend says the same.

// RunNotFound: no run with the id.
func RunNotFound(runID int64) error {
	return fmt.Errorf("run %d: %w", runID, store.ErrNotFound)
}

// AlreadyPlanned: the newsletter's slot has its run.
func AlreadyPlanned(newsletter, slot string) error {
	return fmt.Errorf("%s %s: %w", newsletter, slot, ErrAlreadyPlanned)
}

// ComposeFailed: the run was planned but composing it failed.
func ComposeFailed(runID int64, newsletter string, err error) error {
	return fmt.Errorf("run %d of %s: %w: %w", runID, newsletter, ErrRunFailed, err)
}

// RunStateError: a run in status have cannot move to to; only one in
// from can.
func RunStateError(runID int64, have string, from []RunStatus, to RunStatus) error {
	names := make([]string, len(from))
	for i, f := range from {
		names[i] = string(f)
	}
	return fmt.Errorf("run %d is %s; only a %s run can be %s: %w", runID, have, strings.Join(names, " or "), to, ErrRunState)
}
