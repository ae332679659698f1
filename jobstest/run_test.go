package jobstest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase-jobs/jobs/jobstest"
)

// TestRunAllRunsRunnableJobs runs the runnable jobs of handled topics,
// highest priority first, and leaves delayed jobs, unhandled topics and
// paused topics alone.
func TestRunAllRunsRunnableJobs(t *testing.T) {
	eachBackend(t, func(t *testing.T, configure func(testing.TB, *jobs.Config)) {
		store := newStore(t, configure)
		var ran []string
		record := func(job *jobs.Job) error {
			var p struct{ Name string }
			if err := job.UnmarshalPayload(&p); err != nil {
				return err
			}
			ran = append(ran, p.Name)
			return nil
		}
		mustRegister(t, store, "work", nil, record)
		mustRegister(t, store, "paused", nil, record)
		if err := store.Pause("paused"); err != nil {
			t.Fatalf("pause: %v", err)
		}
		low := mustEnqueue(t, store, "work", map[string]any{"name": "low"}, nil)
		high := mustEnqueue(t, store, "work", map[string]any{"name": "high"}, &jobs.JobEnqueueOptions{Priority: 5})
		later := mustEnqueue(t, store, "work", map[string]any{"name": "later"}, &jobs.JobEnqueueOptions{RunAt: time.Now().Add(hour)})
		unhandled := mustEnqueue(t, store, "nobody", map[string]any{"name": "nobody"}, nil)
		paused := mustEnqueue(t, store, "paused", map[string]any{"name": "paused"}, nil)

		res := jobstest.RunAll(t, store)

		if !slices.Equal(ran, []string{"high", "low"}) {
			t.Errorf("ran %q, want high then low", ran)
		}
		if res.Completed != 2 || len(res.Attempts) != 2 || res.String() != "2 attempts: 2 completed" {
			t.Errorf("result %s, want 2 completed attempts", res)
		}
		if res.Attempts[0].Job.ID != high.ID || res.Attempts[0].Outcome != jobstest.Completed {
			t.Errorf("first attempt %+v, want the high-priority job completed", res.Attempts[0])
		}
		for _, job := range []*jobs.Job{high, low} {
			if got := mustGet(t, store, job.ID).Status; got != jobs.StatusCompleted {
				t.Errorf("job %s is %s, want completed", job.ID, got)
			}
		}
		for _, job := range []*jobs.Job{later, unhandled, paused} {
			if got := mustGet(t, store, job.ID).Status; got != jobs.StatusPending {
				t.Errorf("job %s of %s is %s, want pending", job.ID, job.Topic, got)
			}
		}
	})
}

// TestRunAllRunsWhatHandlersEnqueue runs the jobs handlers enqueue while
// it runs, in the same call.
func TestRunAllRunsWhatHandlersEnqueue(t *testing.T) {
	eachBackend(t, func(t *testing.T, configure func(testing.TB, *jobs.Config)) {
		store := newStore(t, configure)
		mustRegister(t, store, "signup", nil, func(job *jobs.Job) error {
			_, err := store.Enqueue("welcome_mail", job.Payload)
			return err
		})
		var welcomed int
		mustRegister(t, store, "welcome_mail", nil, func(*jobs.Job) error { welcomed++; return nil })
		mustEnqueue(t, store, "signup", map[string]any{"user": "ann"}, nil)

		res := jobstest.RunAll(t, store)

		if welcomed != 1 || res.Completed != 2 {
			t.Fatalf("welcome mails %d, result %s: want the signup and its mail completed", welcomed, res)
		}
		if topic := res.Attempts[1].Job.Topic; topic != "welcome_mail" {
			t.Errorf("second attempt's topic %q, want welcome_mail", topic)
		}
	})
}

// TestRunAllOutcomes writes what a handler returns as the dispatcher
// writes it, under the topic's options: a retry after the backoff is not
// runnable now; a snooze, SkipRetry, a timeout and a cancel have their
// outcomes.
func TestRunAllOutcomes(t *testing.T) {
	eachBackend(t, func(t *testing.T, configure func(testing.TB, *jobs.Config)) {
		store := newStore(t, configure)
		errBoom := errors.New("boom")
		backoff := &jobs.HandlerOptions{Backoff: func(int) time.Duration { return hour }}
		mustRegister(t, store, "flaky", backoff, func(*jobs.Job) error { return errBoom })
		mustRegister(t, store, "snooze", nil, func(*jobs.Job) error { return jobs.Snooze(hour) })
		mustRegister(t, store, "skip", nil, func(*jobs.Job) error { return jobs.SkipRetry(errBoom) })
		mustRegister(t, store, "slow", &jobs.HandlerOptions{Timeout: 20 * time.Millisecond}, func(job *jobs.Job) error {
			<-job.Context().Done()
			return job.Context().Err()
		})
		var cause error
		mustRegister(t, store, "cancelled", nil, func(job *jobs.Job) error {
			if _, err := store.Cancel(job.ID); err != nil {
				return err
			}
			select { // the cancel ends the context at once; the timer keeps a broken cancel from hanging the test
			case <-job.Context().Done():
				cause = context.Cause(job.Context())
			case <-time.After(10 * time.Second):
			}
			return nil
		})
		byTopic := map[string]*jobs.Job{}
		for _, topic := range []string{"flaky", "snooze", "skip", "slow", "cancelled"} {
			byTopic[topic] = mustEnqueue(t, store, topic, nil, &jobs.JobEnqueueOptions{MaxRetries: 1})
		}

		res := jobstest.RunAll(t, store)

		want := map[string]struct {
			outcome jobstest.Outcome
			err     error
			status  string
		}{
			"flaky":     {jobstest.Retried, errBoom, jobs.StatusPending},
			"snooze":    {jobstest.Snoozed, nil, jobs.StatusPending},
			"skip":      {jobstest.Failed, errBoom, jobs.StatusFailed},
			"slow":      {jobstest.Retried, jobs.ErrJobTimedOut, jobs.StatusPending},
			"cancelled": {jobstest.Cancelled, nil, jobs.StatusCancelled},
		}
		if len(res.Attempts) != len(want) || res.Retried != 2 || res.Snoozed != 1 || res.Failed != 1 || res.Cancelled != 1 {
			t.Fatalf("result %s, want one attempt per job: 2 retried, 1 snoozed, 1 failed, 1 cancelled", res)
		}
		for _, a := range res.Attempts {
			w := want[a.Job.Topic]
			if a.Outcome != w.outcome || (w.err != nil && !errors.Is(a.Err, w.err)) {
				t.Errorf("%s: outcome %s, error %v; want %s, %v", a.Job.Topic, a.Outcome, a.Err, w.outcome, w.err)
			}
			if got := mustGet(t, store, a.Job.ID).Status; got != w.status {
				t.Errorf("%s: job is %s, want %s", a.Job.Topic, got, w.status)
			}
		}
		if !errors.Is(cause, jobs.ErrJobCancelled) {
			t.Errorf("the cancelled job's context ended with %v, want ErrJobCancelled", cause)
		}
		if got := mustGet(t, store, byTopic["flaky"].ID); got.Attempts != 1 || got.LastError != "boom" {
			t.Errorf("the retried job has %d attempts and last error %q, want 1 and boom", got.Attempts, got.LastError)
		}
	})
}

// TestRunAllWithin runs jobs due within RunOptions.Within, and the retries
// that fall within it, until no retry is left.
func TestRunAllWithin(t *testing.T) {
	eachBackend(t, func(t *testing.T, configure func(testing.TB, *jobs.Config)) {
		store := newStore(t, configure)
		backoff := &jobs.HandlerOptions{Backoff: func(int) time.Duration { return 10 * time.Minute }}
		mustRegister(t, store, "flaky", backoff, func(*jobs.Job) error { return errors.New("down") })
		job := mustEnqueue(t, store, "flaky", nil, &jobs.JobEnqueueOptions{RunAt: time.Now().Add(30 * time.Minute), MaxRetries: 2})

		if res := jobstest.RunAll(t, store); len(res.Attempts) != 0 {
			t.Fatalf("RunAll ran a job due in 30 minutes: %s", res)
		}
		res := jobstest.RunAllWithOptions(t, store, &jobstest.RunOptions{Within: hour})

		if res.Retried != 2 || res.Failed != 1 || len(res.Attempts) != 3 {
			t.Errorf("result %s, want 2 retried then 1 failed", res)
		}
		if got := mustGet(t, store, job.ID); got.Status != jobs.StatusFailed || got.Attempts != 3 {
			t.Errorf("job is %s after %d attempts, want failed after 3", got.Status, got.Attempts)
		}
	})
}

// TestRunAllStopsAtTheLimit fails the test, after Limit attempts, when a
// handler enqueues a job each time it runs.
func TestRunAllStopsAtTheLimit(t *testing.T) {
	t.Parallel()
	store := newStore(t, backends[0].configure)
	mustRegister(t, store, "again", nil, func(job *jobs.Job) error {
		_, err := store.Enqueue("again", nil)
		return err
	})
	mustEnqueue(t, store, "again", nil, nil)
	rec := &recorder{TB: t}

	res := jobstest.RunAllWithOptions(rec, store, &jobstest.RunOptions{Limit: 5})

	rec.failure(t, "made 5 attempts and jobs are still runnable", "5 completed")
	if res.Completed != 5 {
		t.Errorf("result %s, want 5 completed", res)
	}
}

// TestRunAllRefusesARunningDispatcher fails the test, running nothing,
// when the store's dispatcher runs.
func TestRunAllRefusesARunningDispatcher(t *testing.T) {
	t.Parallel()
	store := newStore(t, backends[0].configure)
	if err := store.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = store.Stop() })
	rec := &recorder{TB: t}

	res := jobstest.RunAll(rec, store)

	rec.failure(t, "dispatcher of this process is running")
	if len(res.Attempts) != 0 {
		t.Errorf("result %s, want no attempt", res)
	}
}
