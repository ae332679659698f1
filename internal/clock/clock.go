// Package clock tells the job runtime the time of day.
//
// Every time the runtime writes to a job or compares with a job's times
// (run_at, locked_until, created, updated) comes from the Clock of its
// plugin instance, so that a test can shift it and play a process whose
// clock is off. How long the runtime waits (timers, tickers, backoffs) is
// measured by the time package's monotonic clock, which a shift leaves
// alone.
package clock

import (
	"context"
	"sync/atomic"
	"time"
)

// Clock is the wall clock of one plugin instance: the system's, shifted by
// an offset. The zero value is the system clock. A Clock is safe for
// concurrent use; it must not be copied after first use.
type Clock struct {
	// offset is added to the system clock, in nanoseconds.
	offset atomic.Int64
}

// Now returns the current time by c.
func (c *Clock) Now() time.Time {
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// Until returns how long it is until t by c: what a timer set for t waits.
func (c *Clock) Until(t time.Time) time.Duration {
	return t.Sub(c.Now())
}

// Shift sets c to run d ahead of the system clock, or behind it for a
// negative d; Shift(0) makes it the system clock again.
func (c *Clock) Shift(d time.Duration) {
	c.offset.Store(int64(d))
}

// Sleep waits for d, or until ctx ends, and reports whether d passed (and
// ctx had not ended). It is the only way the runtime waits between
// attempts: a bare time.Sleep would not end with a stop.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
