package digest

import (
	"testing"
	"time"
)

func TestClaimSize(t *testing.T) {
	tests := []struct {
		rate    float64
		lease   time.Duration
		workers int
		want    int
	}{
		{0, 30 * time.Second, 4, claimBatch},     // no limit
		{1000, 30 * time.Second, 10, claimBatch}, // fast: a full batch drains in time
		{2, 30 * time.Second, 4, 13},             // 2/s × 15 s = 30 sent in half a lease: (30 − 4) / 2
		{0.1, 30 * time.Second, 4, 1},            // slower than the lease allows: one at a time
	}
	for _, tt := range tests {
		if got := claimSize(tt.rate, tt.lease, tt.workers); got != tt.want {
			t.Errorf("claimSize(%v, %v, %d) = %d, want %d", tt.rate, tt.lease, tt.workers, got, tt.want)
		}
	}
}
