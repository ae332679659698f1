package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/outage"
)

// Periodic is one schedule the Scheduler ticks.
type Periodic struct {
	Name string
	// LastTick returns the last minute in (after, until] on which the
	// schedule is due, if any.
	LastTick func(after, until time.Time) (time.Time, bool)
	// Job returns the job a tick enqueues, made at now.
	Job func(now time.Time) driver.InsertParams
}

// SchedulerConfig is what a Scheduler is built from.
type SchedulerConfig struct {
	Driver driver.Driver
	Logger *slog.Logger
	Clock  *clock.Clock
	// Schedules returns the schedules declared in this process.
	Schedules func() []Periodic
	// Enqueued is called with every job a tick enqueued.
	Enqueued func(driver.InsertParams)
	// PollInterval is how often the scheduler looks at the time.
	PollInterval time.Duration
}

// Scheduler enqueues the jobs of periodic schedules. Every PollInterval it
// looks for ticks of each schedule since the last one it handled, and
// records the latest through Driver.Tick, which enqueues its job: the
// database takes one Tick per schedule and minute, so however many
// processes declare a schedule, each tick enqueues one job. Ticks missed
// while no process ran (or while the job database was unreachable) are
// caught up with one job, for the latest of them. A schedule the job
// database has no tick of yet starts with its next tick.
type Scheduler struct {
	cfg SchedulerConfig
	// outage logs an outage of the job database once each way.
	outage *outage.Log
	runner
}

var _ Service = (*Scheduler)(nil)

// NewScheduler returns a scheduler; Start starts it.
func NewScheduler(cfg SchedulerConfig) *Scheduler {
	return &Scheduler{
		cfg: cfg,
		outage: outage.New(cfg.Logger, slog.LevelWarn,
			"jobs: cannot enqueue the jobs of schedules; retrying every poll interval",
			"jobs: enqueueing the jobs of schedules again"),
		runner: runner{name: "ticking schedules"},
	}
}

// Start starts ticking.
func (s *Scheduler) Start() { s.start(s.run) }

// Stop stops ticking.
func (s *Scheduler) Stop(ctx context.Context) error { return s.stop(ctx) }

// run ticks every PollInterval until quit ends. handled holds, per
// schedule, the minute up to which its ticks are handled.
func (s *Scheduler) run(quit, _ context.Context) {
	handled := make(map[string]time.Time)
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	for {
		s.tick(quit, handled)
		select {
		case <-quit.Done():
			return
		case <-poll.C:
		}
	}
}

// tick handles the ticks due since the last call, for every schedule.
func (s *Scheduler) tick(quit context.Context, handled map[string]time.Time) {
	schedules := s.cfg.Schedules()
	if len(schedules) == 0 {
		return
	}
	now := s.cfg.Clock.Now()
	if err := s.learn(quit, schedules, handled, now); err != nil {
		s.report(quit, err)
		return
	}
	var failed error
	for _, p := range schedules {
		at, due := p.LastTick(handled[p.Name], now)
		if !due {
			continue
		}
		if err := s.record(quit, p, at, now); err != nil {
			failed = err // this schedule's tick is tried again at the next poll
			continue
		}
		handled[p.Name] = at
	}
	if failed != nil {
		s.report(quit, failed)
		return
	}
	s.outage.Recovered()
}

// learn sets where each schedule not handled yet starts: after its last
// tick recorded in the job database, or now when it has none.
func (s *Scheduler) learn(quit context.Context, schedules []Periodic, handled map[string]time.Time, now time.Time) error {
	fresh := false
	for _, p := range schedules {
		if _, ok := handled[p.Name]; !ok {
			fresh = true
		}
	}
	if !fresh {
		return nil
	}
	ctx, cancel := call(quit)
	defer cancel()
	last, err := s.cfg.Driver.LastTicks(ctx)
	if err != nil {
		return err
	}
	for _, p := range schedules {
		if _, ok := handled[p.Name]; ok {
			continue
		}
		if at, ok := last[p.Name]; ok {
			handled[p.Name] = at
		} else {
			handled[p.Name] = now
		}
	}
	return nil
}

// record records the tick of p at `at` and enqueues its job, unless
// another process did first.
func (s *Scheduler) record(quit context.Context, p Periodic, at, now time.Time) error {
	ctx, cancel := call(quit)
	defer cancel()
	job := p.Job(now)
	enqueued, err := s.cfg.Driver.Tick(ctx, driver.TickParams{Name: p.Name, Tick: at, Job: job})
	if err != nil {
		return err
	}
	if enqueued {
		s.cfg.Enqueued(job)
	}
	return nil
}

// report logs the start of an outage, unless the scheduler is stopping.
func (s *Scheduler) report(quit context.Context, err error) {
	if quit.Err() == nil {
		s.outage.Failed(err)
	}
}
