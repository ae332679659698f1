package service

import (
	"context"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
)

// fakeServer is a database server whose clock runs offset from the system
// clock, and whose readings take delay to come back.
type fakeServer struct {
	offset, delay time.Duration
}

// ServerTime implements driver.ServerClock.
func (s fakeServer) ServerTime(context.Context) (time.Time, error) {
	now := time.Now().Add(s.offset)
	time.Sleep(s.delay) // plays the round trip's way back
	return now, nil
}

// TestSyncClockCorrectsOffsetsItCanMeasure: a server minutes off is
// followed; a server whose offset hides within the round trip's
// uncertainty leaves the clock as it is.
func TestSyncClockCorrectsOffsetsItCanMeasure(t *testing.T) {
	var clk clock.Clock
	if err := SyncClock(context.Background(), fakeServer{offset: 5 * time.Minute}, &clk); err != nil {
		t.Fatal(err)
	}
	if off := time.Until(clk.Now()) - 5*time.Minute; off.Abs() > 100*time.Millisecond {
		t.Fatalf("after a sync with a server 5 minutes ahead, the clock is %v off it", off)
	}
	if err := SyncClock(context.Background(), fakeServer{delay: 20 * time.Millisecond}, &clk); err != nil {
		t.Fatal(err)
	}
	if got := clk.Correction(); got != 0 {
		t.Fatalf("a server in step, read over a slow round trip, gave a correction of %v, want none", got)
	}
}
