package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/service"
)

// Bounds of a shutdown, whatever the job database does (it may refuse
// connections, or stop answering).
const (
	// shutdownMargin is how much longer than Config.ShutdownTimeout Stop,
	// and the app's terminate hook, take at most.
	shutdownMargin = time.Second
	// lastWritesLimit is what Stop gives, after the grace period, to its
	// last writes: the jobs given back and the last outcomes.
	lastWritesLimit = shutdownMargin * 2 / 5
	// closeLimit is what the terminate hook gives, after Stop, to the
	// relay's last round and to closing the job database. The rest of
	// shutdownMargin is slack.
	closeLimit = shutdownMargin * 2 / 5
)

// dispatcher starts and stops the runs of this process's job runtime, on
// the plugin's hooks or JobStore.Start and JobStore.Stop. It keeps what
// outlives a run (the configuration, the clock, the Waker, the topic
// registry) and builds each run's services from them.
type dispatcher struct {
	config   Config
	clock    *clock.Clock
	waker    *service.Waker
	handlers *handlerRegistry
	// periodic returns the declared schedules, as the Scheduler ticks them.
	periodic func() []service.Periodic
	// wakeFor wakes the claim loop for jobs just stored.
	wakeFor func([]driver.InsertParams)
	// jobDB returns the open job database: ErrUnavailable while it cannot
	// be opened, ErrNotReady before the app bootstrapped.
	jobDB func() (*jobDB, error)
	// logger returns the app's logger, which PocketBase sets up when the
	// app bootstraps.
	logger func() *slog.Logger

	// lifeMu serialises start and stop; run is the current run or nil.
	lifeMu sync.Mutex
	run    *dispatchRun
	// running is the workers of the current run, or nil: cancel reads it
	// without waiting for a start or stop.
	running atomic.Pointer[workers]
	// waiting is set while the dispatcher was started but the job database
	// is unavailable: resume starts the run once it is open.
	waiting bool
}

// start begins a run unless one is going. While the job database is
// unavailable the run waits, and resume begins it.
func (d *dispatcher) start() error {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	if d.run != nil {
		return nil
	}
	db, err := d.jobDB()
	if errors.Is(err, ErrUnavailable) {
		d.waiting = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("start dispatcher: %w", err)
	}
	d.run = d.newRun(db)
	d.running.Store(d.run.workers)
	return nil
}

// resume begins the run that start could not begin while the job database
// was unavailable.
func (d *dispatcher) resume() {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	if !d.waiting || d.run != nil {
		return
	}
	d.waiting = false
	db, err := d.jobDB()
	if err != nil {
		d.logger().Error("jobs: cannot start the dispatcher", "error", err)
		return
	}
	d.run = d.newRun(db)
	d.running.Store(d.run.workers)
}

// stop ends the current run, if any, gracefully, within
// Config.ShutdownTimeout plus lastWritesLimit.
func (d *dispatcher) stop() error {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	d.waiting = false
	if d.run == nil {
		return nil
	}
	d.running.Store(nil)
	err := d.run.stop(d.config.ShutdownTimeout)
	d.run = nil
	return err
}

// cancel ends the attempts of claim c (and older claims of its job) in
// this process; their outcome is discarded.
func (d *dispatcher) cancel(c driver.Claim) {
	if w := d.running.Load(); w != nil {
		w.cancel(c)
	}
}

// dispatchRun is one start-to-stop life of the dispatcher: the services it
// started on one job database.
type dispatchRun struct {
	claims    *service.ClaimLoop
	workers   *workers
	completer *service.Completer
	janitor   *service.Janitor
	watcher   *service.ClaimWatcher
	scheduler *service.Scheduler
}

// newRun builds the services of a run on db, wires them to one another,
// and starts them.
func (d *dispatcher) newRun(db *jobDB) *dispatchRun {
	logger := d.logger()
	freed := make(chan struct{}, d.config.Workers)
	r := &dispatchRun{completer: service.NewCompleter(db.drv, logger, d.clock, d.waker.WakeAt)}
	room := newTopicRoom(d.handlers, d.config.Workers, d.config.LockDuration, d.waker.Wake)
	r.workers = &workers{
		count:    d.config.Workers,
		handlers: d.handlers,
		logger:   logger,
		clock:    d.clock,
		backoff:  d.config.RetryBackoff,
		room:     room,
		complete: r.completer.Add,
		freed:    freed,
	}
	r.claims = service.NewClaimLoop(service.ClaimLoopConfig{
		Driver:         db.drv,
		Logger:         logger,
		Clock:          d.clock,
		Waker:          d.waker,
		Topics:         d.handlers.list,
		Reserve:        room.reserve,
		Unreserve:      room.unreserve,
		TakeOutcomes:   r.completer.Take,
		Settle:         r.completer.Settle,
		Run:            r.workers.run,
		Freed:          freed,
		Workers:        d.config.Workers,
		BatchSize:      d.config.BatchSize,
		ClaimsInFlight: db.drv.ClaimsInFlight(),
		PollInterval:   d.config.PollInterval,
	})
	r.janitor = service.NewJanitor(service.JanitorConfig{
		Driver:       db.drv,
		Logger:       logger,
		Clock:        d.clock,
		Handled:      d.handlers.handles,
		Retention:    d.config.Retention,
		PollInterval: d.config.PollInterval,
	})
	r.watcher = service.NewClaimWatcher(service.ClaimWatcherConfig{
		Driver:       db.drv,
		Logger:       logger,
		Running:      r.workers.claims,
		Lost:         r.workers.cancel,
		PollInterval: d.config.PollInterval,
	})
	r.scheduler = service.NewScheduler(service.SchedulerConfig{
		Driver:       db.drv,
		Logger:       logger,
		Clock:        d.clock,
		Schedules:    d.periodic,
		Enqueued:     func(job driver.InsertParams) { d.wakeFor([]driver.InsertParams{job}) },
		PollInterval: d.config.PollInterval,
	})
	for _, s := range r.services() {
		s.Start()
	}
	return r
}

// services returns the run's services in the order they start: each one
// before those that hand it work.
func (r *dispatchRun) services() []service.Service {
	return []service.Service{r.completer, r.workers, r.claims, r.janitor, r.watcher, r.scheduler}
}

// stop ends the run within grace plus lastWritesLimit, from its start. It
// stops claiming, the janitor, the claim watcher and the scheduler, seeing a claim on its way
// through (and running or giving back its jobs like any other); running
// handlers get until grace ends, then they are cancelled and their jobs
// given back; and the completer writes the last outcomes. Whatever has not
// ended by the deadline is abandoned: a job whose outcome could not be
// written stays processing until its lock expires, and runs again.
func (r *dispatchRun) stop(grace time.Duration) error {
	graceCtx, cancelGrace := context.WithTimeout(context.Background(), grace)
	defer cancelGrace()
	ctx, cancel := context.WithTimeout(context.Background(), grace+lastWritesLimit)
	defer cancel()
	return errors.Join(r.claims.Stop(ctx), r.janitor.Stop(ctx), r.watcher.Stop(ctx), r.scheduler.Stop(ctx),
		r.workers.Stop(graceCtx), r.completer.Stop(ctx))
}
