package digest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Newsletter is one newsletter's configuration (newsletters: in
// config.yaml; docs/ARCHITECTURE.md, "Configuration and CLI").
type Newsletter struct {
	ID, Title   string
	From        *netmail.Address // nil: Config.From
	ReplyTo     *netmail.Address // nil: no Reply-To
	Schedule    string           // cron spec or descriptor (@monthly)
	Location    *time.Location   // schedules are evaluated here
	Tags        []string         // tag slugs; empty: every article
	MaxArticles int
	SendIfEmpty bool
	FirstWindow time.Duration
	CatchUp     time.Duration
	Subject     string // text/template: {{.Newsletter.Title}} — {{.Period}}
	// Preheader is the hidden inbox preview, a text/template like Subject;
	// empty: the lead titles ("Lead · Second · +6 more").
	Preheader string
	// Sections group the articles after the lead by tag: an article goes
	// into the first section whose tags it has, the rest into "More news".
	Sections []Section
	// Language is the language of the issue for subscribers who chose
	// none ("": Site.Language).
	Language string
}

// Section is one group of a newsletter's articles.
type Section struct {
	Title string
	Tags  []string // tag slugs
}

// Site is what a digest says about the site.
type Site struct {
	Title, Description, BaseURL, Language, Address string
	Logo                                           string // image URL or site path for the masthead; "" shows the title
	Accent                                         string // CSS colour of links and buttons; "" is DefaultAccent
}

// DefaultAccent is the link and button colour when site.accent is unset.
const DefaultAccent = "#1a5fb4"

// Links makes the signed per-subscriber URLs (internal/subscribe's Tokens
// with the base URL bound), bound to the subscriber's link secret.
type Links interface {
	UnsubscribeURL(subscriberID int64, secret []byte, newsletter string) string
	PreferencesURL(subscriberID int64, secret []byte) string
}

// BounceAddresses are the per-recipient addresses under the bounce domain
// (docs/ARCHITECTURE.md, "Bounces and complaints").
type BounceAddresses interface {
	// ReturnPath is bounces+{token}@domain for the delivery.
	ReturnPath(runID, subscriberID int64, secret []byte) (string, error)
	// UnsubscribeMailto is unsubscribe+{token}@domain for the newsletter.
	UnsubscribeMailto(subscriberID int64, newsletter string, secret []byte) (string, error)
}

// Config wires a Service.
type Config struct {
	Newsletters []Newsletter
	Site        Site
	Templates   fs.FS            // templates.FS(dir): email/digest.html, email/digest.txt
	Languages   []string         // site.languages: the catalogues subscribers may have chosen
	From        *netmail.Address // mail.from
	ReturnPath  string           // envelope sender; empty: the From address
	// Installation is the store's InstallationID: digest Message-IDs carry
	// it so two installations never mint the same one.
	Installation string
	Store        Store
	Mailer       Mailer
	Links        Links
	// Bounce, when set (mail.bounce.domain), gives each recipient its own
	// envelope sender (VERP) and a mailto: unsubscribe address.
	Bounce      BounceAddresses
	Lease       time.Duration // digest.lease
	MaxAttempts int           // digest.max_attempts
	RetryBase   time.Duration // first retry delay; doubles per attempt, capped at 1h, jittered
	Workers     int           // concurrent sends: mail.smtp.connections
	Rate        float64       // messages per second the transport allows (mail.smtp.rate); 0: no limit
	Logger      *slog.Logger
	Now         func() time.Time
	// Progress, if set, is told after each recorded batch of a run this
	// process delivers (the CLI's progress bar).
	Progress func(run *Run, outs []Outcome)
	// OnRunFinished, if set, is told once when a run this process
	// delivers is done (every delivery settled): the run as stored, with
	// StartedAt and FinishedAt, and its counts (metrics).
	OnRunFinished func(run Run, counts Counts)
}

// Service plans, composes and delivers digests.
type Service struct {
	cfg   Config
	log   *slog.Logger
	nls   map[string]*Newsletter
	order []string
	comp  *composer

	mu        sync.Mutex
	cron      *cron.Cron
	cronStop  context.CancelFunc
	workStop  context.CancelFunc
	workDone  chan struct{}
	wake      chan struct{}
	scheduled map[string]cron.Schedule
	working   map[*runCtx]struct{} // runs this process is delivering now

	// Local faults (Healthy) and outcomes sent but not yet recorded.
	faultMu               sync.Mutex
	sendFault, storeFault error
	recMu                 sync.Mutex
	held                  []heldBatch
}

// New checks cfg (schedules, templates) and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.MaxAttempts < 1 {
		cfg.MaxAttempts = 8
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Minute
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.Store == nil {
		return nil, errors.New("digest: no store")
	}
	s := &Service{cfg: cfg, log: cfg.Logger, nls: map[string]*Newsletter{}, scheduled: map[string]cron.Schedule{}, working: map[*runCtx]struct{}{}}
	for i := range cfg.Newsletters {
		n := &cfg.Newsletters[i]
		if n.Location == nil {
			n.Location = time.UTC
		}
		if _, dup := s.nls[n.ID]; dup {
			return nil, fmt.Errorf("newsletter %q: duplicate id", n.ID)
		}
		sched, err := ParseSchedule(n.Schedule, n.Location)
		if err != nil {
			return nil, fmt.Errorf("newsletter %q: schedule: %w", n.ID, err)
		}
		s.scheduled[n.ID] = sched
		s.nls[n.ID] = n
		s.order = append(s.order, n.ID)
	}
	if cfg.Templates != nil {
		c, err := newComposer(cfg)
		if err != nil {
			return nil, err
		}
		s.comp = c
	}
	return s, nil
}

// Newsletter returns the configured newsletter with the id.
func (s *Service) Newsletter(id string) (*Newsletter, error) {
	n, ok := s.nls[id]
	if !ok {
		return nil, fmt.Errorf("no newsletter %q in the configuration (have: %s): %w", id, strings.Join(s.order, ", "), ErrUnknownNewsletter)
	}
	return n, nil
}

// First is the first newsletter in the configuration ("" if none).
func (s *Service) First() string {
	if len(s.order) == 0 {
		return ""
	}
	return s.order[0]
}

// SetOnRunFinished sets Config.OnRunFinished; call it before delivering.
func (s *Service) SetOnRunFinished(f func(run Run, counts Counts)) { s.cfg.OnRunFinished = f }

// SetProgress sets Config.Progress; call it before delivering.
func (s *Service) SetProgress(p func(run *Run, outs []Outcome)) { s.cfg.Progress = p }

// Running says whether the scheduler and the delivery workers are
// running (readiness): both started and neither stopped.
func (s *Service) Running() bool {
	s.mu.Lock()
	c, done := s.cron, s.workDone
	s.mu.Unlock()
	if c == nil || done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Close stops the scheduler (waiting for running jobs) and then the
// delivery workers (each finishes and records the message in hand), in
// the order of docs/ARCHITECTURE.md, "Shutdown". It is safe to call more
// than once.
func (s *Service) Close() {
	s.StopScheduler()
	s.StopWorkers()
}
