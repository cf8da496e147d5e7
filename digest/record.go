package digest

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// errStore marks a store failure met while delivering: a local fault,
// never the recipient's or the digest's.
var errStore = errors.New("digest: store")

// heldBatch is a batch of outcomes the store could not record yet.
type heldBatch struct {
	runID int64
	outs  []Outcome
}

// record stores outcomes after any held before them. When the store
// cannot record, the outcomes are held in memory, to be recorded first by
// the next attempt, and the store fault is raised. While outcomes are
// held, work sends nothing: a message is never sent more than the
// duplicate bound ahead of what is recorded.
func (s *Service) record(ctx context.Context, runID int64, outs []Outcome) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	err := s.recordHeldLocked(ctx)
	if err == nil {
		if err = s.cfg.Store.RecordOutcomes(ctx, runID, outs); err == nil {
			s.clearFault(&s.storeFault)
			return nil
		}
	}
	s.held = append(s.held, heldBatch{runID: runID, outs: slices.Clone(outs)})
	err = fmt.Errorf("recording outcomes: %w: %w", errStore, err)
	s.setFault(&s.storeFault, err)
	return err
}

// recordHeld records the held outcomes, if any.
func (s *Service) recordHeld(ctx context.Context) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return s.recordHeldLocked(ctx)
}

func (s *Service) recordHeldLocked(ctx context.Context) error {
	if len(s.held) == 0 {
		return nil
	}
	for len(s.held) > 0 {
		b := s.held[0]
		if err := s.cfg.Store.RecordOutcomes(ctx, b.runID, b.outs); err != nil {
			err = fmt.Errorf("recording %d held outcomes: %w: %w", len(s.held), errStore, err)
			s.setFault(&s.storeFault, err)
			return err
		}
		s.held = s.held[1:]
	}
	s.clearFault(&s.storeFault)
	return nil
}

// setFault and clearFault keep the latest local fault of a kind (sending
// to the outbox, using the store) until the operation works again.
func (s *Service) setFault(f *error, err error) {
	s.faultMu.Lock()
	*f = err
	s.faultMu.Unlock()
}

func (s *Service) clearFault(f *error) {
	s.faultMu.Lock()
	*f = nil
	s.faultMu.Unlock()
}

// Healthy says whether delivery works in this process (a readiness
// check): it reports the latest local fault, sending (a full outbox disk)
// or recording outcomes (the store), until that works again.
func (s *Service) Healthy(context.Context) error {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	var errs []error
	if s.sendFault != nil {
		errs = append(errs, fmt.Errorf("sending: %w", s.sendFault))
	}
	if s.storeFault != nil {
		errs = append(errs, s.storeFault)
	}
	return errors.Join(errs...)
}
