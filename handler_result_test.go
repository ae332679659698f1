package jobs

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestSnoozeKeepsRetries: a job with no retries snoozes twice, wrapped, and
// then completes: each snooze put it back to pending at now+d with its
// attempt given back.
func TestSnoozeKeepsRetries(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		const delay = 200 * time.Millisecond
		var calls counter
		snoozed := make(chan time.Time, 2)
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"later": func(job *Job) error {
				if calls.add(job.ID) <= 2 {
					snoozed <- time.Now()
					return fmt.Errorf("not yet: %w", Snooze(delay))
				}
				return nil
			},
		})
		job := mustEnqueue(t, store, "later", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		first := <-snoozed
		var pending *Job
		waitFor(t, 10*time.Second, "the snooze to be written", func() bool {
			var err error
			if pending, err = store.Get(job.ID); err != nil {
				t.Fatal(err)
			}
			return pending.Status == StatusPending && !pending.Updated.Equal(job.Updated)
		})
		if pending.Attempts != 0 || pending.Retries != 0 || pending.LastError != "" {
			t.Fatalf("snoozed job %+v: want its attempt given back and no error", pending)
		}
		if pending.RunAt.Before(first.Add(delay - 50*time.Millisecond)) {
			t.Fatalf("snoozed job runs at %s, want about %s after %s", pending.RunAt, delay, first)
		}
		done := waitStatus(t, store, job.ID, StatusCompleted)
		second := <-snoozed
		if gap := second.Sub(first); gap < delay-50*time.Millisecond {
			t.Fatalf("the snoozed job ran again after %s, want at least about %s", gap, delay)
		}
		if calls.get(job.ID) != 3 || done.Attempts != 1 {
			t.Fatalf("%d calls, job %+v: want 3 calls and the last attempt counted once", calls.get(job.ID), done)
		}
	})
}

func TestSkipRetryFailsAtOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var calls counter
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"hopeless": func(job *Job) error {
				calls.add(job.ID)
				return fmt.Errorf("charge card: %w", SkipRetry(errors.New("card declined")))
			},
		})
		job := mustEnqueue(t, store, "hopeless", nil, &JobEnqueueOptions{MaxRetries: 5})
		failed := waitStatus(t, store, job.ID, StatusFailed)
		if calls.get(job.ID) != 1 || failed.Attempts != 1 {
			t.Fatalf("%d calls, job %+v: want one attempt", calls.get(job.ID), failed)
		}
		if failed.LastError != "charge card: card declined" {
			t.Fatalf("last error %q", failed.LastError)
		}
	})
}

func TestSkipRetryOfNil(t *testing.T) {
	err := SkipRetry(nil)
	if err == nil || err.Error() != "retry skipped" {
		t.Fatalf("SkipRetry(nil) = %v", err)
	}
}
