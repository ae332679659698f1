package jobstest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase-jobs/jobs/internal/runnow"
)

// DefaultLimit is the most attempts RunAll makes when RunOptions.Limit is 0.
const DefaultLimit = 1000

// RunOptions tunes RunAllWithOptions.
type RunOptions struct {
	// Within makes jobs due within it from now runnable too: delayed jobs,
	// and the retries and snoozes of jobs run meanwhile. 0 runs only the
	// jobs due now, so a retry after a backoff is left for later.
	Within time.Duration
	// Limit is the most attempts to make; 0 means DefaultLimit. It ends a
	// run that would never end: a handler that enqueues a job each time it
	// runs, or one that retries or snoozes within Within.
	Limit int
}

// Outcome is what an attempt did to its job.
type Outcome string

// The outcomes of an attempt.
const (
	// Completed: the handler returned nil; the job is completed.
	Completed Outcome = runnow.Completed
	// Retried: the attempt failed and the job is pending again, to run
	// after its backoff.
	Retried Outcome = runnow.Retried
	// Snoozed: the handler returned jobs.Snooze; the job is pending again,
	// and the attempt did not count.
	Snoozed Outcome = runnow.Snoozed
	// Failed: the attempt failed with no retry left, or returned
	// jobs.SkipRetry; the job is failed.
	Failed Outcome = runnow.Failed
	// Cancelled: the job was cancelled while its handler ran, and the
	// attempt's outcome was discarded.
	Cancelled Outcome = runnow.Cancelled
)

// Attempt is one attempt RunAll made.
type Attempt struct {
	// Job is the job as its handler was given it: processing, its Attempts
	// counting this one. store.Get(Job.ID) reads it as it is now.
	Job     *jobs.Job
	Outcome Outcome
	// Err is the attempt's error: what the handler returned (a panic as an
	// error), or jobs.ErrJobTimedOut wrapped when it outlived its topic's
	// Timeout. It is nil for a completed attempt.
	Err error
}

// Result is what RunAll ran: every attempt, in the order they were made,
// and how many had each outcome.
type Result struct {
	Attempts                                       []Attempt
	Completed, Retried, Snoozed, Failed, Cancelled int
}

// String sums r up, e.g. "3 attempts: 2 completed, 1 retried".
func (r Result) String() string {
	var parts []string
	for _, c := range []struct {
		n    int
		name Outcome
	}{{r.Completed, Completed}, {r.Retried, Retried}, {r.Snoozed, Snoozed}, {r.Failed, Failed}, {r.Cancelled, Cancelled}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	if len(parts) == 0 {
		return "no attempt"
	}
	attempts := "attempts"
	if len(r.Attempts) == 1 {
		attempts = "attempt"
	}
	return fmt.Sprintf("%d %s: %s", len(r.Attempts), attempts, strings.Join(parts, ", "))
}

// add counts a.
func (r *Result) add(a Attempt) {
	r.Attempts = append(r.Attempts, a)
	switch a.Outcome {
	case Completed:
		r.Completed++
	case Retried:
		r.Retried++
	case Snoozed:
		r.Snoozed++
	case Failed:
		r.Failed++
	case Cancelled:
		r.Cancelled++
	}
}

// RunAll runs every runnable job of the topics that have a handler in this
// process, now, one at a time in the calling goroutine, until no job is
// runnable; the jobs the handlers enqueue meanwhile are run too. Each goes
// through the path the dispatcher's workers take: it is claimed (by
// priority, then run time; not on a paused topic), its handler runs with
// the topic's HandlerOptions (Timeout, lock, Backoff), and what it returns
// is written as the dispatcher would write it: completed, a retry after
// the backoff (not runnable now, so not run again), a snooze, a failure.
//
// The store's dispatcher must not run (see jobs.Config.AutoStart, which
// starts it when the app serves): RunAll fails tb if it does, and on any
// error of the job database. It fails tb, too, when DefaultLimit attempts
// did not run out the runnable jobs. It does not fail tb when a handler
// fails: the Result tells, and tb's log names each attempt that did not
// complete, with its error.
func RunAll(tb testing.TB, store *jobs.JobStore) Result {
	tb.Helper()
	return RunAllWithOptions(tb, store, nil)
}

// RunAllWithOptions is RunAll with options: also the jobs due within a
// duration, and another limit of attempts. nil opts is the same as RunAll.
func RunAllWithOptions(tb testing.TB, store *jobs.JobStore, opts *RunOptions) Result {
	tb.Helper()
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	if o.Within < 0 || o.Limit < 0 {
		tb.Fatalf("jobstest: RunOptions.Within (%s) and Limit (%d) must not be negative", o.Within, o.Limit)
		return Result{}
	}
	if o.Limit == 0 {
		o.Limit = DefaultLimit
	}
	attempts, more, err := runnow.Run(tb.Context(), store, runnow.Params{Within: o.Within, Limit: o.Limit})
	var res Result
	for _, a := range attempts {
		at := Attempt{Job: a.Job.(*jobs.Job), Outcome: Outcome(a.Outcome), Err: a.Err}
		if at.Err != nil || at.Outcome != Completed {
			tb.Logf("jobstest: job %s of topic %q, attempt %d: %s (error: %v)", at.Job.ID, at.Job.Topic, at.Job.Attempts, at.Outcome, at.Err)
		}
		res.add(at)
	}
	switch {
	case err != nil:
		tb.Fatalf("jobstest: RunAll: %v (after %s)", err, res)
	case more:
		tb.Fatalf("jobstest: RunAll made %d attempts and jobs are still runnable: does a handler enqueue a job "+
			"each time it runs, or retry or snooze within RunOptions.Within? Raise RunOptions.Limit if not (%s)", o.Limit, res)
	}
	return res
}
