// Package clock tells the job runtime the time of day.
//
// Every time the runtime writes to a job or compares with a job's times
// (run_at, locked_until, created, updated) comes from the Clock of its
// plugin instance. On PostgreSQL a Clock is corrected to the database
// server's clock (see Correct), so that every process sharing the job
// table decides what is due and which locks expired by one clock, however
// far its machine's clock drifted. How long the runtime waits (timers,
// tickers, backoffs) is measured by the time package's monotonic clock,
// which neither a correction nor a test's shift changes.
package clock

import (
	"context"
	"sync/atomic"
	"time"
)

// Clock is the wall clock of one plugin instance: its machine's clock,
// plus a correction to a reference clock (the job database server's, when
// it has one), plus a shift that tests set. The zero value is the system
// clock. A Clock is safe for concurrent use; it must not be copied after
// first use.
type Clock struct {
	// skew is added to the system clock to give the machine's clock: tests
	// set it to play a machine whose clock is off, which a correction
	// cancels.
	skew atomic.Int64
	// correction is added to the machine's clock to give the reference
	// clock, in nanoseconds.
	correction atomic.Int64
	// shift is added after the correction: tests set it to play time
	// passing, which no correction undoes.
	shift atomic.Int64
}

// Now returns the current time by c.
func (c *Clock) Now() time.Time {
	return c.Machine().Add(time.Duration(c.correction.Load() + c.shift.Load()))
}

// Machine returns the time by the machine's clock, uncorrected: what a
// reading of a reference clock is compared with.
func (c *Clock) Machine() time.Time {
	return time.Now().Add(time.Duration(c.skew.Load()))
}

// Until returns how long it is until t by c: what a timer set for t waits.
func (c *Clock) Until(t time.Time) time.Duration {
	return t.Sub(c.Now())
}

// Correct makes c follow a reference clock that read reference while the
// machine's clock (Machine) read machine.
func (c *Clock) Correct(reference, machine time.Time) {
	c.correction.Store(int64(reference.Sub(machine)))
}

// Correction returns what c adds to the machine's clock.
func (c *Clock) Correction() time.Duration {
	return time.Duration(c.correction.Load())
}

// Shift sets c to run d ahead of the time it would tell, or behind it for
// a negative d, as if that much time had passed; Shift(0) undoes it. A
// correction leaves the shift in place.
func (c *Clock) Shift(d time.Duration) {
	c.shift.Store(int64(d))
}

// Skew sets c's machine clock d ahead of the system clock (behind it for a
// negative d), as on a machine whose clock is off: a correction to a
// reference clock cancels it.
func (c *Clock) Skew(d time.Duration) {
	c.skew.Store(int64(d))
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
