package service

import (
	"context"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// clockSamples is how many readings of the server's clock one sync takes:
// the one with the shortest round trip is the most precise.
const clockSamples = 3

// SyncClock corrects clk to the clock of src's database server. It reads
// the server's time a few times and keeps the reading of the shortest round
// trip, taken as the time at the middle of that round trip: the offset is
// known to within half of it. An offset within that uncertainty is no
// offset (a server on the same machine, or clocks kept in step by NTP):
// the clock is then left uncorrected, so a loaded machine's slow round trip
// cannot make up a correction of a few milliseconds.
func SyncClock(ctx context.Context, src driver.ServerClock, clk *clock.Clock) error {
	var (
		best      time.Duration = -1
		offset    time.Duration
		reference time.Time
	)
	for range clockSamples {
		before := clk.Machine()
		server, err := src.ServerTime(ctx)
		if err != nil {
			return err
		}
		after := clk.Machine()
		rtt := after.Sub(before)
		if best < 0 || rtt < best {
			mid := before.Add(rtt / 2)
			best, offset, reference = rtt, server.Sub(mid), mid
		}
	}
	if offset.Abs() <= best/2 {
		offset = 0
	}
	clk.Correct(reference.Add(offset), reference)
	return nil
}

// ClockSync keeps a plugin's clock corrected to the database server's,
// reading it every Every: machine clocks drift, and NTP may step them.
type ClockSync struct {
	src   driver.ServerClock
	clk   *clock.Clock
	every time.Duration
	runner
}

var _ Service = (*ClockSync)(nil)

// NewClockSync returns a service that corrects clk to src's server clock
// every every; Start starts it.
func NewClockSync(src driver.ServerClock, clk *clock.Clock, every time.Duration) *ClockSync {
	return &ClockSync{src: src, clk: clk, every: every, runner: runner{name: "following the database server's clock"}}
}

// Start starts following the server's clock.
func (s *ClockSync) Start() { s.start(s.run) }

// Stop stops following it; the last correction stays.
func (s *ClockSync) Stop(ctx context.Context) error { return s.stop(ctx) }

// run corrects the clock every s.every until quit ends. A failed reading
// keeps the last correction: the services that need the database log its
// outage.
func (s *ClockSync) run(quit, abort context.Context) {
	for clock.Sleep(quit, s.every) {
		ctx, cancel := call(abort)
		_ = SyncClock(ctx, s.src, s.clk)
		cancel()
	}
}
