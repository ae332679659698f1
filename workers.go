package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/service"
)

// errNoHandler is the last error of a job claimed for a topic whose handler
// is gone.
const errNoHandler = "no handler registered for the topic"

// workers runs claimed jobs on Config.Workers goroutines: long-lived
// workers, rather than a goroutine per job, keep their grown stacks between
// jobs. Each attempt's outcome goes to the completer. It has the shape of
// service.Service; it lives in the root package because it calls handlers
// with the public *Job.
type workers struct {
	count int
	// handler returns the handler of a topic, or nil.
	handler func(topic string) func(*Job) error
	logger  *slog.Logger
	clock   *clock.Clock
	// backoff is the delay before a retry (Config.RetryBackoff).
	backoff func(retry int) time.Duration
	// complete takes the outcome of every attempt.
	complete func(driver.Outcome)
	// freed gets a token each time a worker finishes a job.
	freed chan<- struct{}

	// jobsCtx is the parent of every handler's context.
	jobsCtx    context.Context
	cancelJobs context.CancelFunc
	// assigned hands claimed jobs to the workers; Stop closes it.
	assigned chan assignment
	wg       sync.WaitGroup

	mu               sync.Mutex
	started, stopped bool
	running          map[*Job]struct{}
	// released holds jobs given back at shutdown whose handler still runs.
	released map[*Job]struct{}
}

var _ service.Service = (*workers)(nil)

// assignment is one claimed job handed to a worker, with the cancel
// function of its context.
type assignment struct {
	job    *Job
	cancel context.CancelFunc
}

// Start starts the workers.
func (w *workers) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.stopped {
		return
	}
	w.started = true
	w.jobsCtx, w.cancelJobs = context.WithCancel(context.Background())
	w.assigned = make(chan assignment, w.count)
	w.running = make(map[*Job]struct{})
	w.released = make(map[*Job]struct{})
	w.wg.Add(w.count)
	for range w.count {
		go w.work()
	}
}

// run hands a claimed job to a free worker; the caller reserved one, so
// this never blocks. A job claimed after Stop is not run: it stays
// processing until its lock expires.
func (w *workers) run(row driver.JobRow) {
	job := jobFromRow(row)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	// The context ends at the lock's expiry by the clock that set it.
	ctx, cancel := context.WithTimeout(w.jobsCtx, w.clock.Until(job.LockedUntil))
	job.ctx = ctx
	w.running[job] = struct{}{}
	w.assigned <- assignment{job: job, cancel: cancel}
}

// work is one worker: it runs the jobs assigned to it, one at a time, until
// Stop closes w.assigned.
func (w *workers) work() {
	defer w.wg.Done()
	for a := range w.assigned {
		err := w.execute(a.job)
		a.cancel()
		w.report(a.job, w.outcome(a.job, err))
		w.freed <- struct{}{}
	}
}

// execute runs the topic's handler, turning a panic into an error.
func (w *workers) execute(job *Job) (err error) {
	handler := w.handler(job.Topic)
	if handler == nil {
		return fmt.Errorf("%s: %q", errNoHandler, job.Topic)
	}
	defer func() {
		if v := recover(); v != nil {
			w.logger.Error("jobs: handler panicked", "job", job.ID, "topic", job.Topic,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return handler(job)
}

// outcome decides what an attempt's result does to the job.
func (w *workers) outcome(job *Job, err error) driver.Outcome {
	o := driver.Outcome{ID: job.ID, LockVersion: job.lockVersion}
	switch {
	case err == nil:
		o.Status = StatusCompleted
	case w.jobsCtx.Err() != nil:
		// Cancelled by shutdown: not the job's fault, run it again soon.
		o.Status, o.RunAt, o.ReleaseAttempt = StatusPending, w.clock.Now(), true
	case job.Attempts > job.MaxRetries:
		o.Status, o.LastError = StatusFailed, storableErrorText(err)
		w.logger.Warn("jobs: job failed for good", "job", job.ID, "topic", job.Topic,
			"attempts", job.Attempts, "error", err)
	default:
		o.Status, o.LastError = StatusPending, storableErrorText(err)
		o.RunAt = w.clock.Now().Add(w.backoff(job.Attempts))
	}
	return o
}

// report hands an outcome on unless the job was given back at shutdown
// meanwhile. It does so under w.mu, so that an outcome reported while Stop
// gives the running jobs back is handed on before Stop returns.
func (w *workers) report(job *Job, o driver.Outcome) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.running, job)
	if _, ok := w.released[job]; ok {
		delete(w.released, job)
		return
	}
	w.complete(o)
}

// Stop runs no more jobs, and lets running handlers finish until ctx ends;
// then it cancels them and gives their jobs back: pending again at once,
// fenced by their claim, without using up an attempt.
func (w *workers) Stop(ctx context.Context) error {
	w.mu.Lock()
	started, stopping := w.started, !w.stopped
	w.stopped = true
	if started && stopping {
		close(w.assigned)
	}
	w.mu.Unlock()
	if !started || !stopping {
		return nil
	}
	finished := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		w.releaseRunning()
	}
	w.cancelJobs()
	return nil
}

// releaseRunning cancels running handlers and gives their jobs back.
func (w *workers) releaseRunning() {
	w.mu.Lock()
	now := w.clock.Now()
	for job := range w.running {
		w.released[job] = struct{}{}
		w.complete(driver.Outcome{
			ID: job.ID, LockVersion: job.lockVersion,
			Status: StatusPending, RunAt: now, ReleaseAttempt: true,
		})
	}
	n := len(w.running)
	w.mu.Unlock()
	w.cancelJobs()
	if n > 0 {
		w.logger.Warn("jobs: shutdown cancelled running handlers; their jobs go back to pending", "jobs", n)
	}
}
