package digest

import (
	"context"
	"log/slog"
)

// Run control: pause, resume and cancel (docs/ARCHITECTURE.md, "Digest
// runs").
//
// The store refuses claims of a run that is not planned or sending, in
// the claiming statement itself, so no process starts a message of a
// paused or cancelled run once the change has committed. Rows a process
// had already claimed are given back unsent: at once in this process, and
// within one record interval (about 200 ms) in another, which checks the
// run's status each time it records. Messages in hand finish and are
// recorded with their real outcome.

// PauseRun pauses a planned or sending run; ResumeRun carries it on.
func (s *Service) PauseRun(ctx context.Context, runID int64) (*Run, error) {
	run, err := s.cfg.Store.PauseRun(ctx, runID, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	s.halt(runID)
	s.log.Info("digest paused", slog.String("newsletter", run.Newsletter), slog.Int64("run", runID))
	return run, nil
}

// ResumeRun resumes a paused run where it stopped and wakes the workers.
func (s *Service) ResumeRun(ctx context.Context, runID int64) (*Run, error) {
	run, err := s.cfg.Store.ResumeRun(ctx, runID, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	s.log.Info("digest resumed", slog.String("newsletter", run.Newsletter), slog.Int64("run", runID))
	s.Wake()
	return run, nil
}

// CancelRun cancels a planned, sending or paused run: its open deliveries
// are settled as skipped with the reply "run cancelled".
func (s *Service) CancelRun(ctx context.Context, runID int64) (*Run, error) {
	run, err := s.cfg.Store.CancelRun(ctx, runID, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	s.halt(runID)
	s.log.Info("digest cancelled", slog.String("newsletter", run.Newsletter), slog.Int64("run", runID))
	return run, nil
}

// halt tells this process's workers on the run to stop: claimed rows not
// yet started are given back.
func (s *Service) halt(runID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rc := range s.working {
		if rc.run.ID == runID {
			rc.halted.Store(true)
		}
	}
}

// track registers rc as being delivered here until the returned func runs.
func (s *Service) track(rc *runCtx) func() {
	s.mu.Lock()
	s.working[rc] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.working, rc)
		s.mu.Unlock()
	}
}

// active says whether workers may claim deliveries of a run in status st.
func active(st RunStatus) bool { return st == RunPlanned || st == RunSending }
