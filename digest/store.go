package digest

import (
	"context"
	"time"

	"github.com/herald-news/herald/internal/article"
)

// Selection says which articles a run takes (docs/ARCHITECTURE.md,
// "Digest runs").
type Selection struct {
	Newsletter  string
	Tags        []string      // tag slugs, any of; empty: all articles
	SlotAt      time.Time     // published at or before
	FirstWindow time.Duration // the horizon of a newsletter's first run: SlotAt − FirstWindow
	MaxArticles int           // the newest go now, the rest wait
}

// Horizon is the newsletter horizon a selection starts after: the one
// the newsletter remembers (ok), else, for its first run, SlotAt minus
// FirstWindow. Every backend asks here so they decide alike.
func (s Selection) Horizon(st State, ok bool) time.Time {
	if ok {
		return st.Horizon
	}
	return s.SlotAt.Add(-s.FirstWindow)
}

// PlanRequest is a run to plan.
type PlanRequest struct {
	Selection
	Slot        string
	Kind        Kind
	SendIfEmpty bool
	Now         time.Time
}

// ComposeFunc renders a run's variants while it is being planned, so the
// run, its articles, its variants and its deliveries commit together.
// It gets the run (with its ID) and the articles; empty articles mean the
// run will be skipped and nothing is composed.
type ComposeFunc func(run *Run, articles []article.Article) ([]Variant, error)

// Store is what the digest needs of the store: planning, claiming and
// recording deliveries, and reading runs back.
type Store interface {
	PlanStore
	DeliveryStore
	RunReader
	RunControl
}

// RunControl pauses, resumes and cancels runs. Each returns the run as it
// now stands, ErrRunState when its status does not allow the change, and
// an error wrapping store.ErrNotFound when there is no such run.
type RunControl interface {
	// PauseRun: planned or sending → paused. Nothing of a paused run is
	// claimed until it is resumed.
	PauseRun(ctx context.Context, runID int64, now time.Time) (*Run, error)
	// ResumeRun: paused → sending; it carries on where it stopped.
	ResumeRun(ctx context.Context, runID int64, now time.Time) (*Run, error)
	// CancelRun: planned, sending or paused → cancelled, settling every
	// open delivery as skipped ("run cancelled") in the same transaction.
	CancelRun(ctx context.Context, runID int64, now time.Time) (*Run, error)
}

// PlanStore plans runs.
type PlanStore interface {
	// NewsletterState returns what the newsletter remembers; ok is false
	// before its first run.
	NewsletterState(ctx context.Context, newsletter string) (st State, ok bool, err error)
	// SelectArticles returns the articles a run at sel.SlotAt would take,
	// changing nothing (previews, test sends).
	SelectArticles(ctx context.Context, sel Selection) ([]article.Article, error)
	// PlanRun, in one transaction: fixes the horizon at the first run,
	// inserts the run (ErrAlreadyPlanned if its slot exists), selects and
	// records its articles, calls compose, keeps the variants, and writes
	// one pending delivery per active subscriber of the newsletter in one
	// INSERT … SELECT. A run without articles (and not SendIfEmpty) is
	// recorded skipped. Test runs change no window and get no deliveries.
	// When compose fails the run is recorded failed (no deliveries, its
	// articles left for the next run, its slot used) and returned with an
	// error wrapping ErrRunFailed and compose's error.
	PlanRun(ctx context.Context, req PlanRequest, compose ComposeFunc) (*Run, error)
}

// DeliveryStore hands out deliveries under leases and records outcomes.
type DeliveryStore interface {
	// ActiveRuns lists runs that are planned or sending, oldest first.
	ActiveRuns(ctx context.Context) ([]Run, error)
	// StartRun marks a planned run sending.
	StartRun(ctx context.Context, runID int64, now time.Time) error
	// ClaimDeliveries returns up to n due deliveries of the run, leased
	// until now+lease, after returning expired leases to pending; nothing
	// when the run is not planned or sending (checked in the claiming
	// statement, so a pause or cancel is never raced). Rows
	// whose subscriber is no longer active and subscribed are settled as
	// skipped instead (an unsubscribe during a run is honoured).
	ClaimDeliveries(ctx context.Context, runID int64, newsletter string, n int, now time.Time, lease time.Duration) ([]Claim, error)
	// RecordOutcomes stores outcomes in one transaction.
	RecordOutcomes(ctx context.Context, runID int64, outs []Outcome) error
	// NextDue is the earliest time a delivery of the run may become
	// claimable (a retry or a lease running out); ok is false when every
	// delivery is settled.
	NextDue(ctx context.Context, runID int64) (t time.Time, ok bool, err error)
	// FinishRun marks the run done if every delivery is settled.
	FinishRun(ctx context.Context, runID int64, now time.Time) (done bool, err error)
	// FailRun marks a planned, sending or paused run failed, settling its
	// open deliveries as skipped with the reason and releasing its
	// articles to the next run, in one transaction; failed is false when
	// the run was not in one of those statuses.
	FailRun(ctx context.Context, runID int64, now time.Time, reason string) (failed bool, err error)
	// Variant returns a stored variant; found is false if none.
	Variant(ctx context.Context, runID int64, key string) (v *Variant, found bool, err error)
	// PutVariant keeps a variant unless one with its key exists, and
	// returns the one kept (so every process sends the same bytes).
	PutVariant(ctx context.Context, runID int64, v Variant) (*Variant, error)
	// RunArticles returns the run's articles in order, with tags.
	RunArticles(ctx context.Context, runID int64) ([]article.Article, error)
}

// RunReader reads runs for status, the archive and the API.
type RunReader interface {
	GetRun(ctx context.Context, runID int64) (*Run, error)
	// ListRuns lists runs newest first; newsletter "" lists all, sentOnly
	// keeps the archive's: scheduled and manual runs that were sent
	// (sending, paused or done).
	ListRuns(ctx context.Context, newsletter string, sentOnly bool, limit int) ([]Run, error)
	RunCounts(ctx context.Context, runID int64) (Counts, error)
	// LookupSubscriber finds a subscriber by address (previews, tests):
	// id, address, name and topic tags.
	LookupSubscriber(ctx context.Context, email string) (c Claim, ok bool, err error)
	// Deliveries calls fn for each delivery of the run, by subscriber id.
	Deliveries(ctx context.Context, runID int64, fn func(DeliveryRow) error) error
	// ListDeliveries pages a run's deliveries by subscriber id: up to
	// limit rows with ids above after, only those f matches.
	ListDeliveries(ctx context.Context, runID int64, f DeliveryFilter, after int64, limit int) ([]DeliveryRow, error)
}

// DeliveryFilter selects deliveries of a run; zero fields match all.
type DeliveryFilter struct {
	Status DeliveryStatus
	// Query is a substring of the recipient's address, folded as
	// subscribe.Fold folds it (DeliveryPage folds what a person typed).
	// An erased recipient's delivery matches no query.
	Query string
}
