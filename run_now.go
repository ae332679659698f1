package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/runnow"
)

// Errors of a synchronous run (see runNow), which package jobstest turns
// into a failed test.
var (
	errDispatcherRunning = errors.New("the dispatcher of this process is running (JobStore.Start, or AutoStart when the app serves): stop it, or run the jobs on it")
	errTxStore           = errors.New("the store is bound to a transaction: use the app's store")
)

func init() { runnow.Run = runNow }

// runNow is runnow.Run: it claims the runnable jobs of the topics store
// handles, one at a time, and runs each in the calling goroutine as a
// worker does (the handler with its options, then the outcome written
// through the driver), until no job is runnable or p.Limit attempts were
// made. It runs only while the dispatcher does not: the two would share
// the jobs at random. For as long as it runs, a cancel in this process
// reaches the attempt running, as it reaches the dispatcher's workers.
func runNow(ctx context.Context, store any, p runnow.Params) (attempts []runnow.Attempt, more bool, err error) {
	s := store.(*JobStore)
	if s.p == nil {
		return nil, false, s.err
	}
	if s.txApp != nil {
		return nil, false, fmt.Errorf("run jobs now: %w", errTxStore)
	}
	db, err := s.p.currentDB()
	if err != nil {
		return nil, false, fmt.Errorf("run jobs now: %w", err)
	}
	sw := &syncWorker{p: s.p, drv: db.drv}
	if err := sw.start(); err != nil {
		return nil, false, fmt.Errorf("run jobs now: %w", err)
	}
	defer sw.stop()
	for len(attempts) < p.Limit {
		a, ok, err := sw.runOne(ctx, p.Within)
		if err != nil {
			return attempts, false, fmt.Errorf("run jobs now: %w", err)
		}
		if !ok {
			return attempts, false, nil
		}
		attempts = append(attempts, a)
	}
	next, err := db.drv.NextRunAt(ctx, driver.NextRunAtParams{Topics: s.p.handlers.list()})
	if err != nil {
		return attempts, false, fmt.Errorf("run jobs now: %w", err)
	}
	return attempts, !next.IsZero() && !next.After(s.p.clock.Now().Add(p.Within)), nil
}

// syncWorker claims jobs one at a time and runs them in its caller's
// goroutine, on workers without goroutines of their own.
type syncWorker struct {
	p   *plugin
	drv driver.Driver
	w   *workers
	// reported is the outcome of the attempt that ran last, or nil when it
	// was discarded.
	reported *driver.Outcome
}

// start makes the worker's workers the ones a cancel in this process
// reaches. It fails while a run of the dispatcher goes.
func (sw *syncWorker) start() error {
	d := sw.p.dispatcher
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	if d.run != nil {
		return errDispatcherRunning
	}
	sw.w = &workers{
		handlers: d.handlers, logger: d.logger(), clock: d.clock, backoff: d.config.RetryBackoff,
		complete: func(o driver.Outcome) { sw.reported = &o },
	}
	sw.w.Start()
	d.running.Store(sw.w)
	return nil
}

// stop stops the workers start started.
func (sw *syncWorker) stop() {
	sw.p.dispatcher.running.CompareAndSwap(sw.w, nil)
	_ = sw.w.Stop(context.Background()) // no goroutine to wait for: it cannot fail
}

// runOne claims one runnable job (due within within from now) of the
// handled topics and runs it, and tells whether there was one.
func (sw *syncWorker) runOne(ctx context.Context, within time.Duration) (runnow.Attempt, bool, error) {
	now := sw.p.clock.Now()
	topics := sw.p.handlers.list()
	claim := make([]driver.ClaimTopic, len(topics))
	for i, topic := range topics {
		lock := sw.p.handlers.get(topic).lock(sw.p.config.LockDuration)
		claim[i] = driver.ClaimTopic{Topic: topic, Limit: 1, LockedUntil: now.Add(lock)}
	}
	rows, err := sw.drv.Claim(ctx, driver.ClaimParams{Topics: claim, Limit: 1, Now: now.Add(within)})
	if err != nil {
		return runnow.Attempt{}, false, fmt.Errorf("claim a job: %w", err)
	}
	if len(rows) == 0 {
		return runnow.Attempt{}, false, nil
	}
	sw.w.mu.Lock()
	a := sw.w.admitLocked(rows[0])
	sw.w.mu.Unlock()
	sw.reported = nil
	result := runnow.Attempt{Job: a.job, Err: sw.w.perform(a), Outcome: runnow.Cancelled}
	if sw.reported == nil {
		return result, true, nil
	}
	written, err := sw.drv.Finish(ctx, driver.FinishParams{Outcomes: []driver.Outcome{*sw.reported}, Now: sw.p.clock.Now()})
	if err != nil {
		return result, false, fmt.Errorf("record the outcome of job %s: %w", a.job.ID, err)
	}
	if written == 1 {
		result.Outcome = outcomeName(*sw.reported)
	}
	return result, true, nil
}

// outcomeName names a written outcome for runnow.Attempt.
func outcomeName(o driver.Outcome) string {
	switch {
	case o.Status == StatusCompleted:
		return runnow.Completed
	case o.Status == StatusFailed:
		return runnow.Failed
	case o.ReleaseAttempt:
		return runnow.Snoozed
	default:
		return runnow.Retried
	}
}
