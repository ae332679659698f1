// Package runnow carries the synchronous run of a job store's jobs from
// package jobs to package jobstest, without making it a method of the
// public JobStore: it is a tool for tests, and a production process runs
// jobs on its dispatcher. Package jobs sets Run when it is initialised;
// jobstest, in the same module, calls it. The package cannot import
// package jobs (which imports it), so the store and the jobs cross it as
// values of type any, which jobs and jobstest assert to their types.
package runnow

import (
	"context"
	"time"
)

// Outcomes of one attempt, as Attempt.Outcome holds them.
const (
	// Completed: the handler returned nil.
	Completed = "completed"
	// Retried: the attempt failed and the job is pending again, after its
	// backoff.
	Retried = "retried"
	// Snoozed: the handler returned jobs.Snooze; the attempt was given back.
	Snoozed = "snoozed"
	// Failed: the attempt failed and no retry is left, or the handler
	// returned jobs.SkipRetry.
	Failed = "failed"
	// Cancelled: the job was cancelled while its handler ran (or lost its
	// claim otherwise), so the attempt's outcome was not written.
	Cancelled = "cancelled"
)

// Params says which jobs Run runs.
type Params struct {
	// Within makes jobs due within it from now runnable too; 0 runs only
	// jobs due now.
	Within time.Duration
	// Limit is the most attempts Run makes.
	Limit int
}

// Attempt is one attempt Run made.
type Attempt struct {
	// Job is the *jobs.Job the handler was given.
	Job any
	// Outcome is one of the outcome constants.
	Outcome string
	// Err is the attempt's error: what the handler returned (a panic as an
	// error), or the timeout error when it outlived its topic's Timeout.
	Err error
}

// Run claims the runnable jobs of the topics the store (a *jobs.JobStore)
// handles, one at a time, and runs each with its handler in the calling
// goroutine, writing its outcome, until no job is runnable or p.Limit
// attempts were made. It returns the attempts in the order they were made,
// and whether jobs were still runnable when it stopped. Package jobs sets
// it.
var Run func(ctx context.Context, store any, p Params) (attempts []Attempt, more bool, err error)
