package jobs

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// registeredStore registers handler for topic with opts on a new app,
// then starts it.
func registeredStore(t *testing.T, b backend, cfg Config, topic string, handler func(*Job) error, opts *HandlerOptions) *JobStore {
	t.Helper()
	store := GetJobStore(newApp(t, b, cfg))
	if err := store.RegisterWithOptions(topic, handler, opts); err != nil {
		t.Fatalf("register %q: %v", topic, err)
	}
	if err := store.Start(); err != nil {
		t.Fatal(err)
	}
	return store
}

// TestTimeoutFailsTheAttempt: a handler that waits on its context ends at
// the topic's Timeout; the attempt failed with a clear last error, and is
// retried like any failure.
func TestTimeoutFailsTheAttempt(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		causes := make(chan error, 2)
		store := registeredStore(t, b, testConfig(), "slow", func(job *Job) error {
			<-job.Context().Done()
			causes <- context.Cause(job.Context())
			return job.Context().Err()
		}, &HandlerOptions{Timeout: 100 * time.Millisecond, Backoff: func(int) time.Duration { return 0 }})
		job := mustEnqueue(t, store, "slow", nil, &JobEnqueueOptions{MaxRetries: 1})
		failed := waitStatus(t, store, job.ID, StatusFailed)
		if failed.Attempts != 2 {
			t.Fatalf("job %+v: want the timed-out attempt retried once", failed)
		}
		if !strings.Contains(failed.LastError, ErrJobTimedOut.Error()) || !strings.Contains(failed.LastError, "100ms") {
			t.Fatalf("last error %q: want it to say the job timed out after 100ms", failed.LastError)
		}
		for range 2 {
			if cause := <-causes; !errors.Is(cause, ErrJobTimedOut) {
				t.Fatalf("context cause %v, want ErrJobTimedOut", cause)
			}
		}
	})
}

// TestConcurrencyLimitsATopic: with Concurrency 2 and 10 workers, never
// more than two jobs of the topic run at once, and claims take no more than
// that: while two run, the others stay pending.
func TestConcurrencyLimitsATopic(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.Workers = 10
		var running, peak atomic.Int32
		release := make(chan struct{})
		store := registeredStore(t, b, cfg, "narrow", func(*Job) error {
			n := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-release
			return nil
		}, &HandlerOptions{Concurrency: 2})
		items := make([]JobEnqueueItem, 40)
		for i := range items {
			items[i] = JobEnqueueItem{Topic: "narrow", Payload: i}
		}
		if _, err := store.EnqueueMany(items); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "two handlers to run", func() bool { return running.Load() == 2 })
		flushedPoll := time.Now().Add(3 * cfg.PollInterval)
		waitFor(t, 10*time.Second, "a few polls", func() bool { return time.Now().After(flushedPoll) })
		stats, err := store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if stats.Processing != 2 || stats.Pending != int64(len(items))-2 {
			t.Fatalf("with two handlers running: %+v; claims must take no more than the topic's room", stats)
		}
		close(release)
		waitFor(t, 30*time.Second, "every job to complete", func() bool {
			stats, err := store.Stats()
			if err != nil {
				t.Fatal(err)
			}
			return stats.Completed == int64(len(items))
		})
		if p := peak.Load(); p != 2 {
			t.Fatalf("peak concurrency %d, want 2", p)
		}
	})
}

// TestTopicLockDurationAndBackoff: a topic's own lock and backoff replace
// the configuration's.
func TestTopicLockDurationAndBackoff(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		locks := make(chan time.Duration, 1)
		store := registeredStore(t, b, testConfig(), "own", func(job *Job) error {
			locks <- time.Until(job.LockedUntil)
			return errors.New("again later")
		}, &HandlerOptions{LockDuration: 3 * time.Hour, Backoff: func(retry int) time.Duration { return time.Duration(retry) * 7 * time.Hour }})
		job := mustEnqueue(t, store, "own", nil, nil)
		if lock := <-locks; lock < 2*time.Hour || lock > 3*time.Hour {
			t.Fatalf("the job was locked for %s, want the topic's 3h", lock)
		}
		var retry *Job
		waitFor(t, 10*time.Second, "the failed attempt to be written", func() bool {
			var err error
			if retry, err = store.Get(job.ID); err != nil {
				t.Fatal(err)
			}
			return retry.Status == StatusPending && retry.Attempts == 1
		})
		if wait := time.Until(retry.RunAt); wait < 6*time.Hour || wait > 7*time.Hour {
			t.Fatalf("the retry runs in %s, want the topic's backoff of 7h", wait)
		}
	})
}

func TestRegisterWithOptionsRefusesNegativeOptions(t *testing.T) {
	store := GetJobStore(newApp(t, backends[0], testConfig()))
	handler := func(*Job) error { return nil }
	for _, opts := range []HandlerOptions{{Timeout: -1}, {Concurrency: -1}, {LockDuration: -time.Second}} {
		err := store.RegisterWithOptions("t", handler, &opts)
		expectErr(t, err, ErrInvalidOptions)
	}
	if err := store.RegisterWithOptions("t", handler, nil); err != nil {
		t.Fatalf("nil options: %v", err)
	}
}
