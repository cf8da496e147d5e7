// Package dashboard is what the admin dashboard shows, worked out once
// for every surface that shows it: subscribers by status and their weekly
// growth (from daily count snapshots kept in the store), the latest runs
// of each newsletter with their outcomes and the unsubscribes that
// followed, the next scheduled runs, and the warnings an operator must
// act on (docs/ARCHITECTURE.md, "Dashboard"). It declares the Store it
// needs; both store backends implement it.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/subscribe"
)

// Store is what the dashboard reads, and what Snapshot writes.
type Store interface {
	SubscriberStatusCounts(ctx context.Context) (map[string]int, error)
	// SubscriberTimelines feeds the back-fill of the daily counts.
	SubscriberTimelines(ctx context.Context) ([]subscribe.Timeline, error)
	// PutSubscriberCounts stores daily counts (replacing a day's).
	PutSubscriberCounts(ctx context.Context, counts []subscribe.DayCount) error
	// SubscriberCountHistory returns the stored days from since's on,
	// and the latest day before since, oldest first.
	SubscriberCountHistory(ctx context.Context, since time.Time) ([]subscribe.DayCount, error)
	ListRuns(ctx context.Context, newsletter string, sentOnly bool, limit int) ([]digest.Run, error)
	RunCounts(ctx context.Context, runID int64) (digest.Counts, error)
	// UnsubscribeCount is how many left newsletter in [from, to).
	UnsubscribeCount(ctx context.Context, newsletter string, from, to time.Time) (int, error)
	// StuckDeliveries counts sending deliveries whose lease ran out
	// before before.
	StuckDeliveries(ctx context.Context, before time.Time) (int, error)
}

// Config wires a Service.
type Config struct {
	Store Store
	// Newsletters are the configured newsletters: ID, Title, Schedule and
	// Location are read.
	Newsletters []digest.Newsletter
	BaseURL     string // site.base_url
	DKIM        bool   // digests are DKIM-signed (mail.dkim set)
	// Stuck is how long past its lease a sending delivery must be to be
	// reported stuck (0: one minute): a lease that just ran out is
	// claimed again by the next worker within a second or so.
	Stuck time.Duration
	// Runs is how many of each newsletter's latest runs Load shows (0: 5).
	Runs   int
	Now    func() time.Time
	Logger *slog.Logger
}

// Service loads the dashboard and keeps the daily counts.
type Service struct {
	cfg Config
}

// New checks cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("dashboard: Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Runs <= 0 {
		cfg.Runs = 5
	}
	if cfg.Stuck <= 0 {
		cfg.Stuck = time.Minute
	}
	return &Service{cfg: cfg}, nil
}

// StatusCounts are subscribers by status.
type StatusCounts struct {
	Pending, Active, Unsubscribed, Bounced int
}

// Total is every subscriber counted.
func (c StatusCounts) Total() int { return c.Pending + c.Active + c.Unsubscribed + c.Bounced }

func (c *StatusCounts) add(st subscribe.Status, n int) {
	switch st {
	case subscribe.StatusPending:
		c.Pending += n
	case subscribe.StatusActive:
		c.Active += n
	case subscribe.StatusUnsubscribed:
		c.Unsubscribed += n
	case subscribe.StatusBounced:
		c.Bounced += n
	}
}

func (c StatusCounts) days(day time.Time) []subscribe.DayCount {
	return []subscribe.DayCount{
		{Day: day, Status: subscribe.StatusPending, Count: c.Pending},
		{Day: day, Status: subscribe.StatusActive, Count: c.Active},
		{Day: day, Status: subscribe.StatusUnsubscribed, Count: c.Unsubscribed},
		{Day: day, Status: subscribe.StatusBounced, Count: c.Bounced},
	}
}

// WeekPoint is the subscribers by status at the end of one week.
type WeekPoint struct {
	End    time.Time
	Counts StatusCounts
	// Growth is the change in active subscribers since the week before.
	Growth int
}

// Weeks is how many points WeeklyGrowth has: a year.
const Weeks = 52

// RunSummary is one run with its outcome and the unsubscribes from its
// newsletter between it and the next run (or now, for the latest).
type RunSummary struct {
	Run          digest.Run
	Counts       digest.Counts
	Unsubscribes int
	// From and Until bound the unsubscribes counted: the run's start
	// (its creation if it never started) and the next run's, or Load's
	// time for the latest run.
	From, Until time.Time
}

// NewsletterSummary is one newsletter on the dashboard.
type NewsletterSummary struct {
	ID, Title string
	// Next is its next scheduled run; zero if the schedule has none.
	Next time.Time
	// Runs are its latest runs (test sends left out), newest first.
	Runs []RunSummary
}

// Warning codes.
const (
	WarnHTTPBaseURL     = "http_base_url"
	WarnNoDKIM          = "no_dkim"
	WarnRunFailed       = "run_failed"
	WarnStuckDeliveries = "stuck_deliveries"
)

// Warning is something an operator must act on.
type Warning struct {
	Code    string
	Message string
	// Newsletter and Run name what it is about, when it is one of them.
	Newsletter string
	Run        int64
}

// Dashboard is everything the admin dashboard shows, as of At.
type Dashboard struct {
	At          time.Time
	Counts      StatusCounts
	Growth      []WeekPoint // Weeks points, oldest first; the last is At
	Newsletters []NewsletterSummary
	Warnings    []Warning
}

// Load works the dashboard out.
func (s *Service) Load(ctx context.Context) (*Dashboard, error) {
	now := s.cfg.Now().UTC()
	d := &Dashboard{At: now}
	live, err := s.liveCounts(ctx)
	if err != nil {
		return nil, err
	}
	d.Counts = live
	if d.Growth, err = s.growth(ctx, now, live); err != nil {
		return nil, err
	}
	for _, n := range s.cfg.Newsletters {
		ns, err := s.newsletter(ctx, n, now)
		if err != nil {
			return nil, err
		}
		d.Newsletters = append(d.Newsletters, ns)
	}
	if d.Warnings, err = s.warnings(ctx, d, now); err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Service) liveCounts(ctx context.Context) (StatusCounts, error) {
	m, err := s.cfg.Store.SubscriberStatusCounts(ctx)
	if err != nil {
		return StatusCounts{}, err
	}
	var c StatusCounts
	for st, n := range m {
		c.add(subscribe.Status(st), n)
	}
	return c, nil
}

// WeeklyGrowth is the subscribers by status at the end of each of the
// last Weeks weeks, the last point being now (live counts).
func (s *Service) WeeklyGrowth(ctx context.Context) ([]WeekPoint, error) {
	live, err := s.liveCounts(ctx)
	if err != nil {
		return nil, err
	}
	return s.growth(ctx, s.cfg.Now().UTC(), live)
}

const week = 7 * 24 * time.Hour

func (s *Service) growth(ctx context.Context, now time.Time, live StatusCounts) ([]WeekPoint, error) {
	// One point more than shown: the first shown point's growth needs it.
	first := now.Add(-Weeks * week)
	hist, err := s.cfg.Store.SubscriberCountHistory(ctx, dayOf(first))
	if err != nil {
		return nil, err
	}
	days := completeDays(hist)
	points := make([]WeekPoint, Weeks+1)
	j := -1 // the latest day at or before the point
	for k := range points {
		end := first.Add(time.Duration(k) * week)
		for j+1 < len(days) && !days[j+1].day.After(end) {
			j++
		}
		points[k].End = end
		if k == Weeks {
			points[k].Counts = live
		} else if j >= 0 {
			points[k].Counts = days[j].counts
		}
		if k > 0 {
			points[k].Growth = points[k].Counts.Active - points[k-1].Counts.Active
		}
	}
	return points[1:], nil
}

type dayCounts struct {
	day    time.Time
	counts StatusCounts
}

// completeDays groups stored rows by day, oldest first.
func completeDays(rows []subscribe.DayCount) []dayCounts {
	var out []dayCounts
	for _, r := range rows {
		if n := len(out); n == 0 || !out[n-1].day.Equal(r.Day) {
			out = append(out, dayCounts{day: r.Day})
		}
		out[len(out)-1].counts.add(r.Status, r.Count)
	}
	return out
}

func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func (s *Service) newsletter(ctx context.Context, n digest.Newsletter, now time.Time) (NewsletterSummary, error) {
	ns := NewsletterSummary{ID: n.ID, Title: n.Title}
	loc := n.Location
	if loc == nil {
		loc = time.UTC
	}
	if sched, err := digest.ParseSchedule(n.Schedule, loc); err == nil {
		ns.Next = sched.Next(now).UTC()
	}
	// Test sends have no recipients: ask for a few more to leave them out.
	runs, err := s.cfg.Store.ListRuns(ctx, n.ID, false, 4*s.cfg.Runs)
	if err != nil {
		return ns, err
	}
	until := now
	for _, r := range runs {
		if r.Kind == digest.KindTest {
			continue
		}
		if len(ns.Runs) == s.cfg.Runs {
			break
		}
		c, err := s.cfg.Store.RunCounts(ctx, r.ID)
		if err != nil {
			return ns, err
		}
		from := r.StartedAt
		if from.IsZero() {
			from = r.CreatedAt
		}
		if until.Before(from) {
			until = from
		}
		unsub, err := s.cfg.Store.UnsubscribeCount(ctx, n.ID, from, until)
		if err != nil {
			return ns, err
		}
		ns.Runs = append(ns.Runs, RunSummary{Run: r, Counts: c, Unsubscribes: unsub, From: from, Until: until})
		until = from
	}
	return ns, nil
}

func (s *Service) warnings(ctx context.Context, d *Dashboard, now time.Time) ([]Warning, error) {
	var out []Warning
	if len(s.cfg.Newsletters) > 0 {
		if strings.HasPrefix(strings.ToLower(s.cfg.BaseURL), "http://") {
			out = append(out, Warning{Code: WarnHTTPBaseURL, Message: fmt.Sprintf(
				"site.base_url is %s: links in newsletters are not encrypted, and without https mail carries no one-click unsubscribe (RFC 8058); set an https base URL", s.cfg.BaseURL)})
		}
		if !s.cfg.DKIM {
			out = append(out, Warning{Code: WarnNoDKIM, Message: "digests are not DKIM-signed: many providers file unsigned bulk mail as spam; set mail.dkim (herald check lists the DNS record)"})
		}
	}
	for _, n := range d.Newsletters {
		for _, r := range n.Runs {
			if r.Run.Status == digest.RunFailed {
				out = append(out, Warning{Code: WarnRunFailed, Newsletter: n.ID, Run: r.Run.ID,
					Message: fmt.Sprintf("run %d of %s failed: %s", r.Run.ID, n.ID, r.Run.Failure)})
			}
		}
	}
	stuck, err := s.cfg.Store.StuckDeliveries(ctx, now.Add(-s.cfg.Stuck))
	if err != nil {
		return nil, err
	}
	if stuck > 0 {
		out = append(out, Warning{Code: WarnStuckDeliveries, Message: fmt.Sprintf(
			"%d deliveries are stuck past their lease: no process is delivering them (is herald serve running?)", stuck)})
	}
	return out, nil
}

// Snapshot stores today's subscriber counts when they changed or today
// has none yet; the first time (nothing stored) it back-fills every day
// before from the subscribers' timestamps.
func (s *Service) Snapshot(ctx context.Context) error {
	now := s.cfg.Now().UTC()
	today := dayOf(now)
	live, err := s.liveCounts(ctx)
	if err != nil {
		return err
	}
	hist, err := s.cfg.Store.SubscriberCountHistory(ctx, today)
	if err != nil {
		return err
	}
	days := completeDays(hist)
	var put []subscribe.DayCount
	switch {
	case len(days) == 0:
		back, err := s.backfill(ctx, today)
		if err != nil {
			return err
		}
		put = back
	case days[len(days)-1].day.Equal(today) && days[len(days)-1].counts == live:
		return nil
	}
	if live.Total() == 0 && len(put) == 0 {
		return nil // nothing to count yet: back-fill again next time
	}
	return s.cfg.Store.PutSubscriberCounts(ctx, append(put, live.days(today)...))
}

// backfill works out the counts of every day before today on which they
// changed, from the subscribers' timelines (subscribe.Timeline.Transitions).
func (s *Service) backfill(ctx context.Context, today time.Time) ([]subscribe.DayCount, error) {
	tls, err := s.cfg.Store.SubscriberTimelines(ctx)
	if err != nil {
		return nil, err
	}
	delta := map[time.Time]*StatusCounts{}
	bump := func(t time.Time, st subscribe.Status, n int) {
		d := dayOf(t)
		if delta[d] == nil {
			delta[d] = &StatusCounts{}
		}
		delta[d].add(st, n)
	}
	for _, tl := range tls {
		tr := tl.Transitions()
		for i, c := range tr {
			bump(c.Day, c.Status, 1)
			if i > 0 {
				bump(c.Day, tr[i-1].Status, -1)
			}
		}
	}
	keys := make([]time.Time, 0, len(delta))
	for d := range delta {
		if d.Before(today) {
			keys = append(keys, d)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Before(keys[j]) })
	var run StatusCounts
	var out []subscribe.DayCount
	for _, d := range keys {
		c := delta[d]
		run.Pending += c.Pending
		run.Active += c.Active
		run.Unsubscribed += c.Unsubscribed
		run.Bounced += c.Bounced
		out = append(out, run.days(d)...)
	}
	return out, nil
}

// RunSnapshots calls Snapshot now and then every interval until ctx
// ends (serve runs it), logging failures.
func (s *Service) RunSnapshots(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.Snapshot(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.ErrorContext(ctx, "subscriber count snapshot failed", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
