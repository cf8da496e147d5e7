package digest

import (
	"errors"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// TestBounces: the bounce rule every backend applies (docs/ARCHITECTURE.md,
// "Digest runs"): an unknown mailbox bounces at once, other 5xx at the third.
func TestBounces(t *testing.T) {
	tests := []struct {
		name string
		b    Bounce
		hard int
		want bool
	}{
		{"OKNone", BounceNone, 5, false},
		{"OKSoft", BounceSoft, 5, false},
		{"OKHardBelow", BounceHard, HardBounceLimit - 1, false},
		{"OKHardAtLimit", BounceHard, HardBounceLimit, true},
		{"OKUnknownUserFirst", BounceUnknownUser, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Bounces(tt.hard); got != tt.want {
				t.Errorf("Bounces(%d) = %v, want %v", tt.hard, got, tt.want)
			}
		})
	}
}

// TestHorizon: the first run looks back FirstWindow from its slot; later
// runs start at the remembered horizon.
func TestHorizon(t *testing.T) {
	slot := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	sel := Selection{SlotAt: slot, FirstWindow: 7 * 24 * time.Hour}
	kept := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("OKFirstRun", func(t *testing.T) {
		if got := sel.Horizon(State{Horizon: kept}, false); !got.Equal(slot.Add(-7 * 24 * time.Hour)) {
			t.Errorf("horizon = %v", got)
		}
	})
	t.Run("OKRemembered", func(t *testing.T) {
		if got := sel.Horizon(State{Horizon: kept}, true); !got.Equal(kept) {
			t.Errorf("horizon = %v", got)
		}
	})
}

func TestRunErrors(t *testing.T) {
	t.Run("ErrRunState", func(t *testing.T) {
		err := RunStateError(7, "done", []RunStatus{RunPlanned, RunSending}, RunPaused)
		if !errors.Is(err, ErrRunState) || err.Error() != "run 7 is done; only a planned or sending run can be paused: "+ErrRunState.Error() {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if err := RunNotFound(7); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("err = %v", err)
		}
	})
}
