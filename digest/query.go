package digest

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/herald-news/herald/internal/subscribe"
)

// RunInfo is a run with its deliveries counted (status, the API).
type RunInfo struct {
	Run
	Counts Counts
	// Feedback is the run's bounces and complaints, filled by RunInfo
	// when the store keeps them.
	Feedback *RunFeedback
}

// runFeedbackReader is the part of FeedbackStore RunInfo reads.
type runFeedbackReader interface {
	RunFeedback(ctx context.Context, runID int64) (RunFeedback, error)
}

// Runs lists a newsletter's runs, newest first, with their counts; an
// unknown newsletter is ErrUnknownNewsletter.
func (s *Service) Runs(ctx context.Context, newsletter string, limit int) ([]RunInfo, error) {
	if _, err := s.Newsletter(newsletter); err != nil {
		return nil, err
	}
	runs, err := s.cfg.Store.ListRuns(ctx, newsletter, false, limit)
	if err != nil {
		return nil, err
	}
	out := make([]RunInfo, 0, len(runs))
	for _, r := range runs {
		c, err := s.cfg.Store.RunCounts(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, RunInfo{Run: r, Counts: c})
	}
	return out, nil
}

// RunInfo returns one run with its counts (store.ErrNotFound if none).
func (s *Service) RunInfo(ctx context.Context, runID int64) (*RunInfo, error) {
	r, err := s.cfg.Store.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.RunCounts(ctx, runID)
	if err != nil {
		return nil, err
	}
	info := &RunInfo{Run: *r, Counts: c}
	if fs, ok := s.cfg.Store.(runFeedbackReader); ok {
		rf, err := fs.RunFeedback(ctx, runID)
		if err != nil {
			return nil, err
		}
		info.Feedback = &rf
	}
	return info, nil
}

// DeliveryPage pages a run's per-recipient outcomes by subscriber id:
// up to limit rows after the subscriber id after, only those f matches
// (its Query is folded here). A missing run is store.ErrNotFound.
func (s *Service) DeliveryPage(ctx context.Context, runID int64, f DeliveryFilter, after int64, limit int) ([]DeliveryRow, error) {
	if _, err := s.cfg.Store.GetRun(ctx, runID); err != nil {
		return nil, err
	}
	switch f.Status {
	case "", DeliveryPending, DeliverySending, DeliverySent, DeliveryFailed, DeliverySkipped, DeliveryBounced:
	default:
		return nil, fmt.Errorf("unknown delivery status %q", f.Status)
	}
	q := strings.TrimSpace(f.Query)
	if len(q) > 256 || strings.ContainsFunc(q, unicode.IsControl) {
		return nil, fmt.Errorf("%w: an address search is printable text of at most 256 bytes", subscribe.ErrInvalidInput)
	}
	f.Query = subscribe.Fold(q)
	return s.cfg.Store.ListDeliveries(ctx, runID, f, after, limit)
}

// SendNow plans a manual run (as `digest send --now`) and wakes this
// process's workers to deliver it; it does not wait for the delivery.
func (s *Service) SendNow(ctx context.Context, newsletter string) (*Run, error) {
	run, err := s.PlanNow(ctx, newsletter)
	if err != nil {
		return nil, err
	}
	s.Wake()
	return run, nil
}
