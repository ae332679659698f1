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
	count    int
	handlers *handlerRegistry
	logger   *slog.Logger
	clock    *clock.Clock
	// backoff is the delay before a retry (Config.RetryBackoff), for topics
	// without a Backoff of their own.
	backoff func(retry int) time.Duration
	// room keeps the topics' concurrency limits.
	room *topicRoom
	// complete takes the outcome of every attempt.
	complete func(driver.Outcome)
	// freed gets a token each time a worker finishes a job.
	freed chan<- struct{}

	// jobsCtx is the parent of every handler's context.
	jobsCtx    context.Context
	cancelJobs context.CancelFunc
	// assigned hands claimed jobs to the workers; Stop closes it.
	assigned chan *attempt
	wg       sync.WaitGroup

	mu               sync.Mutex
	started, stopped bool
	// running holds the attempts handed to workers whose outcome was not
	// reported yet.
	running map[*attempt]struct{}
	// cancelled holds the claims cancelled lately, by job id, so that a
	// claim cancelled before its job reached a worker is not run.
	cancelled map[string]cancelMark
}

// cancelMemory is how long workers remember a cancelled claim: far longer
// than a claimed job takes to reach a worker.
const cancelMemory = time.Minute

// cancelMark is a cancelled claim: claims of the job up to lockVersion
// are cancelled.
type cancelMark struct {
	lockVersion int64
	at          time.Time
}

var _ service.Service = (*workers)(nil)

// attempt is one claimed job handed to a worker.
type attempt struct {
	job *Job
	reg *registration // nil when the topic has no handler
	// discard is set, under workers.mu, when the attempt's outcome must not
	// be written: the job was cancelled, or given back at shutdown.
	discard bool
	// cancel ends the job's context with a cause; endLock releases the
	// timer of its lock's expiry.
	cancel  context.CancelCauseFunc
	endLock context.CancelFunc
}

// end ends the job's context once its handler returned.
func (a *attempt) end() {
	a.endLock()
	a.cancel(nil)
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
	w.assigned = make(chan *attempt, w.count)
	w.running = make(map[*attempt]struct{})
	w.cancelled = make(map[string]cancelMark)
	w.wg.Add(w.count)
	for range w.count {
		go w.work()
	}
}

// run hands a claimed job to a free worker; the caller reserved one, so
// this never blocks. A job claimed after Stop is not run: it stays
// processing until its lock expires. A job whose claim was cancelled
// meanwhile is not run either, and its worker is free again at once.
func (w *workers) run(row driver.JobRow) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if a := w.admitLocked(row); a != nil {
		w.assigned <- a
	}
}

// admitLocked makes a claimed job an attempt the workers know of (so that
// a cancel reaches it), or returns nil once Stop began. An attempt whose
// claim was cancelled meanwhile is marked discarded. w.mu must be held.
func (w *workers) admitLocked(row driver.JobRow) *attempt {
	a := w.newAttempt(jobFromRow(row))
	if w.stopped {
		a.end()
		return nil
	}
	if mark, ok := w.cancelled[row.ID]; ok && row.LockVersion <= mark.lockVersion {
		a.discard = true
		a.cancel(ErrJobCancelled)
	}
	w.running[a] = struct{}{}
	return a
}

// newAttempt gives job its context: it ends when the dispatcher stops, at
// the lock's expiry by the clock that set it, and when the job is
// cancelled (and, once its handler starts, when the topic's Timeout
// passes: see attempt).
func (w *workers) newAttempt(job *Job) *attempt {
	a := &attempt{job: job, reg: w.handlers.get(job.Topic)}
	ctx, cancel := context.WithCancelCause(w.jobsCtx)
	ctx, endLock := context.WithTimeout(ctx, w.clock.Until(job.LockedUntil))
	job.ctx, a.cancel, a.endLock = ctx, cancel, endLock
	return a
}

// work is one worker: it runs the jobs assigned to it, one at a time, until
// Stop closes w.assigned.
func (w *workers) work() {
	defer w.wg.Done()
	for a := range w.assigned {
		w.perform(a)
		w.room.done(a.job.Topic)
		w.freed <- struct{}{}
	}
}

// perform runs a's handler and reports its outcome, and returns the
// attempt's error (see attempt).
func (w *workers) perform(a *attempt) error {
	err := w.attempt(a)
	a.end()
	w.report(a, w.outcome(a, err))
	return err
}

// attempt runs a's handler, unless a was cancelled before it started,
// under the topic's Timeout from its start, and returns the attempt's
// error: what the handler returned or, when it returned after the Timeout
// passed, ErrJobTimedOut with the text of what it returned.
func (w *workers) attempt(a *attempt) error {
	if w.discarded(a) {
		return nil
	}
	if a.reg == nil || a.reg.opts.Timeout <= 0 {
		return w.execute(a)
	}
	ctx, end := context.WithTimeoutCause(a.job.ctx, a.reg.opts.Timeout, ErrJobTimedOut)
	defer end()
	a.job.ctx = ctx
	err := w.execute(a)
	// The context's own cause, not a clock read beside it: a clock read
	// after the context was made could fall short of the Timeout that
	// ended it, and an earlier end (the lock's expiry) is no timeout.
	if errors.Is(context.Cause(ctx), ErrJobTimedOut) {
		return w.timeoutError(a, err)
	}
	return err
}

// execute runs the topic's handler, turning a panic into an error.
func (w *workers) execute(a *attempt) (err error) {
	job := a.job
	if a.reg == nil {
		return fmt.Errorf("%s: %q", errNoHandler, job.Topic)
	}
	defer func() {
		if v := recover(); v != nil {
			w.logger.Error("jobs: handler panicked", "job", job.ID, "topic", job.Topic,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return a.reg.handler(job)
}

// outcome decides what an attempt's error (see attempt) does to the job.
func (w *workers) outcome(a *attempt, err error) driver.Outcome {
	job := a.job
	o := driver.Outcome{ID: job.ID, LockVersion: job.lockVersion}
	var (
		snooze *snoozeError
		skip   *skipRetryError
	)
	switch {
	case err == nil:
		o.Status = StatusCompleted
	case w.jobsCtx.Err() != nil:
		// Cancelled by shutdown: not the job's fault, run it again soon.
		o.Status, o.RunAt, o.ReleaseAttempt = StatusPending, w.clock.Now(), true
	case errors.As(err, &snooze):
		o.Status, o.RunAt, o.ReleaseAttempt = StatusPending, w.clock.Now().Add(snooze.delay), true
	case errors.As(err, &skip) || job.Attempts > job.MaxRetries:
		o.Status, o.LastError = StatusFailed, storableErrorText(err)
		w.logger.Warn("jobs: job failed for good", "job", job.ID, "topic", job.Topic,
			"attempts", job.Attempts, "error", err)
	default:
		o.Status, o.LastError = StatusPending, storableErrorText(err)
		o.RunAt = w.clock.Now().Add(w.retryDelay(a))
	}
	return o
}

// timeoutError is the error of an attempt that outlived its topic's
// Timeout: ErrJobTimedOut, with the text of what the handler returned, if
// anything. Only the text: the attempt failed, whatever it returned
// (Snooze and SkipRetry included).
func (w *workers) timeoutError(a *attempt, err error) error {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrJobTimedOut) {
		return fmt.Errorf("%w after %s", ErrJobTimedOut, a.reg.opts.Timeout)
	}
	return fmt.Errorf("%w after %s: %v", ErrJobTimedOut, a.reg.opts.Timeout, err)
}

// retryDelay is the delay before the job's next attempt, by its topic's
// Backoff or Config.RetryBackoff.
func (w *workers) retryDelay(a *attempt) time.Duration {
	if a.reg != nil && a.reg.opts.Backoff != nil {
		return a.reg.opts.Backoff(a.job.Attempts)
	}
	return w.backoff(a.job.Attempts)
}

// report hands an outcome on unless the attempt was cancelled, or given
// back at shutdown, meanwhile. It does so under w.mu, so that an outcome
// reported while Stop gives the running jobs back is handed on before Stop
// returns.
func (w *workers) report(a *attempt, o driver.Outcome) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.running, a)
	if !a.discard {
		w.complete(o)
	}
}

// discarded tells whether a's outcome is to be discarded: a worker does
// not start the handler of such an attempt.
func (w *workers) discarded(a *attempt) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return a.discard
}

// cancel cancels the attempts of claim c and of older claims of its job,
// whose outcome is then discarded: those running, and those that reach
// the workers within cancelMemory (a claim is cancelled as it is being
// handed out).
func (w *workers) cancel(c driver.Claim) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancelled == nil {
		return // not started
	}
	for a := range w.running {
		if a.job.ID == c.ID && a.job.lockVersion <= c.LockVersion && !a.discard {
			a.discard = true
			a.cancel(ErrJobCancelled)
		}
	}
	for id, mark := range w.cancelled {
		if now.Sub(mark.at) > cancelMemory {
			delete(w.cancelled, id)
		}
	}
	if mark, ok := w.cancelled[c.ID]; !ok || mark.lockVersion < c.LockVersion {
		w.cancelled[c.ID] = cancelMark{lockVersion: c.LockVersion, at: now}
	}
}

// claims returns the claims of the running attempts whose lock has not
// expired, for the claim watcher to check. (An attempt whose lock expired
// may share its job with a newer attempt, and its context ended already.)
func (w *workers) claims() []driver.Claim {
	now := w.clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	claims := make([]driver.Claim, 0, len(w.running))
	for a := range w.running {
		if !a.discard && a.job.LockedUntil.After(now) {
			claims = append(claims, driver.Claim{ID: a.job.ID, LockVersion: a.job.lockVersion})
		}
	}
	return claims
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
	n := 0
	for a := range w.running {
		if a.discard {
			continue
		}
		a.discard = true
		n++
		w.complete(driver.Outcome{
			ID: a.job.ID, LockVersion: a.job.lockVersion,
			Status: StatusPending, RunAt: now, ReleaseAttempt: true,
		})
	}
	w.mu.Unlock()
	w.cancelJobs()
	if n > 0 {
		w.logger.Warn("jobs: shutdown cancelled running handlers; their jobs go back to pending", "jobs", n)
	}
}
