package service

import (
	"context"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// SyncClock corrects clk to the clock of src's database server: it reads
// the server's time and takes it as the time at the middle of the round
// trip, so the correction is right to within half a round trip.
func SyncClock(ctx context.Context, src driver.ServerClock, clk *clock.Clock) error {
	before := clk.Machine()
	server, err := src.ServerTime(ctx)
	if err != nil {
		return err
	}
	after := clk.Machine()
	clk.Correct(server, before.Add(after.Sub(before)/2))
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
