package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

var specParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a cron spec or descriptor evaluated in loc. It
// never panics (robfig/cron v3.0.1 does on a bare "CRON_TZ=UTC") and
// refuses a time zone in the spec: the newsletter's timezone key sets it.
func ParseSchedule(spec string, loc *time.Location) (sched cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty schedule")
	}
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		return nil, errors.New("set the time zone with the newsletter's timezone key, not in the spec")
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("invalid cron spec %q", spec)
		}
	}()
	sched, err = specParser.Parse("CRON_TZ=" + loc.String() + " " + spec)
	if err != nil {
		return nil, fmt.Errorf("invalid cron spec %q: %w", spec, err)
	}
	return sched, nil
}

// SlotKey identifies a schedule slot by its wall-clock time in the
// newsletter's zone, so the repeated hour of a daylight-saving change is
// one slot, planned once.
func SlotKey(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if t.Second() != 0 { // @every schedules: sub-minute slots
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04")
}

// latestSlot walks the schedule from after to now and returns the latest
// slot at or before now.
func latestSlot(sched cron.Schedule, after, now time.Time) (time.Time, bool) {
	var last time.Time
	for t, i := sched.Next(after), 0; !t.IsZero() && !t.After(now) && i < 10_000_000; t, i = sched.Next(t), i+1 {
		last = t
	}
	return last, !last.IsZero()
}

// CatchUp plans, for every newsletter that has run before, the latest slot
// missed while Herald was down, if it is within the newsletter's catch_up.
// Only the latest: a week offline does not send seven dailies.
func (s *Service) CatchUp(ctx context.Context) error {
	now := s.cfg.Now()
	var errs []error
	for _, id := range s.order {
		n := s.nls[id]
		st, ok, err := s.cfg.Store.NewsletterState(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok || n.CatchUp <= 0 {
			continue // never ran: no slot was missed, the first comes on schedule
		}
		from := st.LastSlotAt
		if from.IsZero() {
			from = st.FirstRunAt
		}
		slot, found := latestSlot(s.scheduled[id], from, now)
		if !found || now.Sub(slot) > n.CatchUp {
			continue
		}
		s.log.Info("catching up a missed slot", slog.String("newsletter", id), slog.String("slot", SlotKey(slot, n.Location)))
		if _, err := s.PlanSlot(ctx, id, slot); err != nil && !errors.Is(err, ErrAlreadyPlanned) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, slog.Any("err", err))...)
}

// StartScheduler catches up missed slots and schedules every newsletter.
// Each job plans its slot and wakes the delivery workers. Jobs are wrapped
// SkipIfStillRunning then Recover (docs/ARCHITECTURE.md, "Leases and
// slots").
func (s *Service) StartScheduler(ctx context.Context) error {
	if err := s.CatchUp(ctx); err != nil {
		s.log.Error("catch-up failed", slog.Any("err", err))
	}
	l := cronLogger{s.log}
	c := cron.New(cron.WithChain(cron.SkipIfStillRunning(l), cron.Recover(l)), cron.WithLogger(l))
	jctx, cancel := context.WithCancel(ctx)
	for _, id := range s.order {
		id := id
		var entry cron.EntryID
		entry = c.Schedule(s.scheduled[id], cron.FuncJob(func() {
			// Prev is the activation time the job was started for.
			slot := c.Entry(entry).Prev
			if slot.IsZero() {
				slot = s.cfg.Now()
			}
			if _, err := s.PlanSlot(jctx, id, slot); err != nil && !errors.Is(err, ErrAlreadyPlanned) {
				s.log.Error("planning failed", slog.String("newsletter", id), slog.Any("err", err))
			}
			s.Wake()
		}))
		s.log.Info("newsletter scheduled", slog.String("newsletter", id), slog.String("schedule", s.nls[id].Schedule),
			slog.String("timezone", s.nls[id].Location.String()), slog.Time("next", s.scheduled[id].Next(s.cfg.Now())))
	}
	s.mu.Lock()
	s.cron, s.cronStop = c, cancel
	s.mu.Unlock()
	c.Start()
	return nil
}

// StopScheduler stops the schedule and waits for running jobs.
func (s *Service) StopScheduler() {
	s.mu.Lock()
	c, cancel := s.cron, s.cronStop
	s.cron, s.cronStop = nil, nil
	s.mu.Unlock()
	if c == nil {
		return
	}
	<-c.Stop().Done()
	cancel()
}
