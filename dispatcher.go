package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/outage"
)

// Last errors written by the dispatcher itself.
const (
	errLockExpired = "lock expired before the attempt finished (the process stopped or the handler outlived LockDuration)"
	errNoHandler   = "no handler registered for the topic"
)

// dispatcher owns the claim loop of one process. It is started and stopped
// by the plugin's hooks or by JobStore.Start and JobStore.Stop.
type dispatcher struct {
	p *plugin

	// wakeCh is signalled (never blocking) when work may be runnable.
	wakeCh chan struct{}
	// wakeMu guards wakeAt, the earliest future run time the loop should
	// wake for; zero when there is none.
	wakeMu sync.Mutex
	wakeAt time.Time

	// lifeMu serialises start and stop; run is the current run or nil.
	lifeMu sync.Mutex
	run    *dispatchRun
	// waiting is set while the dispatcher was started but the job database
	// is unavailable: resume starts the run once it is open.
	waiting bool
}

func newDispatcher(p *plugin) *dispatcher {
	return &dispatcher{p: p, wakeCh: make(chan struct{}, 1)}
}

// wake tells the loop to claim now.
func (d *dispatcher) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// wakeLater tells the loop that a job becomes runnable at t.
func (d *dispatcher) wakeLater(t time.Time) {
	if !t.After(d.p.clock.Now()) {
		d.wake()
		return
	}
	d.wakeMu.Lock()
	if d.wakeAt.IsZero() || t.Before(d.wakeAt) {
		d.wakeAt = t
	}
	d.wakeMu.Unlock()
	d.wake()
}

// takeWakeAt returns and clears the earliest requested wake-up time.
func (d *dispatcher) takeWakeAt() time.Time {
	d.wakeMu.Lock()
	defer d.wakeMu.Unlock()
	t := d.wakeAt
	d.wakeAt = time.Time{}
	return t
}

// start begins a run unless one is going. While the job database is
// unavailable the run waits, and resume begins it.
func (d *dispatcher) start() error {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	if d.run != nil {
		return nil
	}
	db, err := d.p.currentDB()
	if errors.Is(err, ErrUnavailable) {
		d.waiting = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("start dispatcher: %w", err)
	}
	d.run = newDispatchRun(d, db)
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
	db, err := d.p.currentDB()
	if err != nil {
		d.p.app.Logger().Error("jobs: cannot start the dispatcher", "error", err)
		return
	}
	d.run = newDispatchRun(d, db)
}

// stop ends the current run, if any, gracefully.
func (d *dispatcher) stop() error {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	d.waiting = false
	if d.run == nil {
		return nil
	}
	err := d.run.shutdown(d.p.config.ShutdownTimeout)
	d.run = nil
	return err
}

// dispatchRun is one start-to-stop life of the dispatcher: the claim loop,
// the workers it started and the completer they report to.
type dispatchRun struct {
	d   *dispatcher
	drv driver.Driver
	cfg Config
	// clock is the plugin's: every time written to a job comes from it.
	clock *clock.Clock
	// claimsInFlight is how many claims may be on their way at once.
	claimsInFlight int
	logger         *slog.Logger

	stopClaiming context.CancelFunc
	loopDone     chan struct{}
	// listenDone and janitorDone are closed when the notification listener
	// and the retention janitor have returned.
	listenDone  chan struct{}
	janitorDone chan struct{}
	// jobsCtx is the parent of every handler's context.
	jobsCtx    context.Context
	cancelJobs context.CancelFunc

	// assigned hands claimed jobs to the Workers goroutines that run them;
	// the loop is its only sender, and shutdown closes it once the loop
	// has returned.
	assigned chan assignment
	workers  sync.WaitGroup
	// slotFreed gets a token each time a worker finishes a job.
	slotFreed chan struct{}
	completer *completer

	mu      sync.Mutex
	running map[*Job]struct{}
	// released holds jobs given back at shutdown whose handler still runs.
	released map[*Job]struct{}

	// outage logs an outage of the job database once each way.
	outage *outage.Log
}

func newDispatchRun(d *dispatcher, db *jobDB) *dispatchRun {
	loopCtx, stopClaiming := context.WithCancel(context.Background())
	jobsCtx, cancelJobs := context.WithCancel(context.Background())
	r := &dispatchRun{
		d:              d,
		drv:            db.drv,
		claimsInFlight: db.claimsInFlight,
		cfg:            d.p.config,
		clock:          &d.p.clock,
		logger:         d.p.app.Logger(),
		stopClaiming:   stopClaiming,
		loopDone:       make(chan struct{}),
		listenDone:     make(chan struct{}),
		janitorDone:    make(chan struct{}),
		jobsCtx:        jobsCtx,
		cancelJobs:     cancelJobs,
		assigned:       make(chan assignment, d.p.config.Workers),
		slotFreed:      make(chan struct{}, d.p.config.Workers),
		running:        make(map[*Job]struct{}),
		released:       make(map[*Job]struct{}),
		outage: outage.New(d.p.app.Logger(), slog.LevelError,
			"jobs: the job database is unavailable; retrying every poll interval",
			"jobs: the job database is available again"),
	}
	r.completer = newCompleter(db.drv, r.logger, r.clock, d.wakeLater)
	r.workers.Add(r.cfg.Workers)
	for range r.cfg.Workers {
		go r.work()
	}
	go r.loop(loopCtx)
	go r.listen(loopCtx, db)
	go r.janitor(loopCtx)
	return r
}

// listen wakes the loop on every enqueue notification of any process, when
// the job database has notifications.
func (r *dispatchRun) listen(ctx context.Context, db *jobDB) {
	defer close(r.listenDone)
	if db.listen == nil {
		return
	}
	if err := db.listen(ctx, r.d.wake); err != nil && ctx.Err() == nil {
		r.logger.Error("jobs: the notification listener stopped; falling back to polling", "error", err)
	}
}

// nextRunAt returns the run time of the next delayed job, or zero.
func (r *dispatchRun) nextRunAt(ctx context.Context) time.Time {
	next, err := r.drv.NextRunAt(ctx, r.d.p.handlers.list())
	if err != nil {
		if ctx.Err() == nil {
			r.outage.Failed(err)
		}
		return time.Time{}
	}
	return next
}

// recoverExpired returns jobs with expired locks to pending (or failed).
func (r *dispatchRun) recoverExpired(ctx context.Context) {
	n, err := r.drv.RecoverExpired(ctx, driver.RecoverParams{Now: r.clock.Now(), LastError: errLockExpired})
	if err != nil {
		if ctx.Err() == nil {
			r.outage.Failed(err)
		}
		return
	}
	if n > 0 {
		r.logger.Warn("jobs: recovered jobs whose lock expired", "jobs", n)
	}
}

// assignment is one claimed job handed to a worker, with the cancel
// function of its context.
type assignment struct {
	job    *Job
	cancel context.CancelFunc
}

// startWorker hands job to a free worker; the caller has reserved one, so
// this never blocks.
func (r *dispatchRun) startWorker(job *Job) {
	// The context ends at the lock's expiry by the clock that set it.
	ctx, cancel := context.WithTimeout(r.jobsCtx, r.clock.Until(job.LockedUntil))
	job.ctx = ctx
	r.mu.Lock()
	r.running[job] = struct{}{}
	r.mu.Unlock()
	r.assigned <- assignment{job: job, cancel: cancel}
}

// work is one of the run's Workers goroutines: it runs the jobs assigned to
// it, one at a time, until shutdown closes r.assigned. Long-lived workers,
// rather than a goroutine per job, keep their grown stacks between jobs.
func (r *dispatchRun) work() {
	defer r.workers.Done()
	for a := range r.assigned {
		err := r.execute(a.job)
		a.cancel()
		r.report(a.job, r.outcome(a.job, err))
		r.slotFreed <- struct{}{}
	}
}

// execute runs the topic's handler, turning a panic into an error.
func (r *dispatchRun) execute(job *Job) (err error) {
	handler := r.d.p.handlers.get(job.Topic)
	if handler == nil {
		return fmt.Errorf("%s: %q", errNoHandler, job.Topic)
	}
	defer func() {
		if v := recover(); v != nil {
			r.logger.Error("jobs: handler panicked", "job", job.ID, "topic", job.Topic,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return handler(job)
}

// outcome decides what an attempt's result does to the job.
func (r *dispatchRun) outcome(job *Job, err error) driver.Outcome {
	o := driver.Outcome{ID: job.ID, LockVersion: job.lockVersion}
	switch {
	case err == nil:
		o.Status = StatusCompleted
	case r.jobsCtx.Err() != nil:
		// Cancelled by shutdown: not the job's fault, run it again soon.
		o.Status, o.RunAt, o.ReleaseAttempt = StatusPending, r.clock.Now(), true
	case job.Attempts > job.MaxRetries:
		o.Status, o.LastError = StatusFailed, storableErrorText(err)
		r.logger.Warn("jobs: job failed for good", "job", job.ID, "topic", job.Topic,
			"attempts", job.Attempts, "error", err)
	default:
		o.Status, o.LastError = StatusPending, storableErrorText(err)
		o.RunAt = r.clock.Now().Add(r.cfg.RetryBackoff(job.Attempts))
	}
	return o
}

// report hands an outcome to the completer unless the job was given back at
// shutdown meanwhile.
func (r *dispatchRun) report(job *Job, o driver.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.running, job)
	if _, ok := r.released[job]; ok {
		delete(r.released, job)
		return
	}
	r.completer.add(o)
}

// shutdown stops claiming, waits up to grace for running handlers, then
// cancels the rest and puts their jobs back to pending at once.
func (r *dispatchRun) shutdown(grace time.Duration) error {
	r.stopClaiming()
	<-r.loopDone
	close(r.assigned)
	<-r.listenDone
	<-r.janitorDone

	finished := make(chan struct{})
	go func() {
		r.workers.Wait()
		close(finished)
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	var err error
	select {
	case <-finished:
	case <-timer.C:
		err = r.releaseRunning()
	}
	r.cancelJobs()
	r.completer.close()
	return err
}

// releaseRunning cancels running handlers and writes their jobs back to
// pending, fenced by their claim, without using up an attempt.
func (r *dispatchRun) releaseRunning() error {
	r.mu.Lock()
	now := r.clock.Now()
	outcomes := make([]driver.Outcome, 0, len(r.running))
	for job := range r.running {
		r.released[job] = struct{}{}
		outcomes = append(outcomes, driver.Outcome{
			ID: job.ID, LockVersion: job.lockVersion,
			Status: StatusPending, RunAt: now, ReleaseAttempt: true,
		})
	}
	r.mu.Unlock()
	r.cancelJobs()
	if len(outcomes) == 0 {
		return nil
	}
	if _, err := r.drv.Finish(context.Background(), outcomes, now); err != nil {
		return fmt.Errorf("release %d running jobs: %w", len(outcomes), err)
	}
	r.logger.Warn("jobs: shutdown cancelled running handlers; their jobs are pending again", "jobs", len(outcomes))
	return nil
}

// running tells whether a run is going.
func (d *dispatcher) running() bool {
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	return d.run != nil
}
