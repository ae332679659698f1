package faulttest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase/tests"
)

// expiryLock is the lock duration of the lock-expiry tests: short, so that a
// handler outlives it at once.
const expiryLock = 300 * time.Millisecond

// run is one handler run the test controls: the handler says when it has
// started and when its context has ended, and returns when released.
type run struct {
	started   chan struct{}
	cancelled chan struct{}
	ctxErr    error // set before cancelled is closed
	release   chan struct{}
}

func newRun() *run {
	return &run{started: make(chan struct{}), cancelled: make(chan struct{}), release: make(chan struct{})}
}

// overrun returns a handler whose first run outlives its lock: it waits for
// its context to end, then for first.release, and returns firstErr. Its
// second run waits for second.release (nil: returns at once) and returns
// secondErr. Any later run is an error.
func overrun(first, second *run, firstErr, secondErr error) func(*jobs.Job) error {
	var runs atomic.Int32
	return func(job *jobs.Job) error {
		switch runs.Add(1) {
		case 1:
			close(first.started)
			<-job.Context().Done()
			first.ctxErr = job.Context().Err()
			close(first.cancelled)
			<-first.release
			return firstErr
		case 2:
			close(second.started)
			if second.release != nil {
				<-second.release
			}
			return secondErr
		default:
			return fmt.Errorf("job %s ran a third time", job.ID)
		}
	}
}

// newStore registers the plugin in this process on a test app, on backend
// b, with cfg and the given handlers, and returns its store, not started.
// The app is cleaned up when t ends.
func newStore(t *testing.T, b backend, cfg jobs.Config, handlers map[string]func(*jobs.Job) error) *jobs.JobStore {
	t.Helper()
	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatalf("new test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	cfg.AutoStart, cfg.HTTPEnabled = false, false
	b.configure(&cfg)
	if err := jobs.Register(app, cfg); err != nil {
		t.Fatalf("register the plugin: %v", err)
	}
	store := jobs.GetJobStore(app)
	for topic, h := range handlers {
		if err := store.Register(topic, h); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

// startExpiryStore starts a store with two workers and the short lock.
func startExpiryStore(t *testing.T, b backend, handlers map[string]func(*jobs.Job) error) *jobs.JobStore {
	t.Helper()
	cfg := jobs.DefaultConfig()
	cfg.Workers = 2
	cfg.LockDuration = expiryLock
	cfg.PollInterval = 20 * time.Millisecond
	cfg.ShutdownTimeout = time.Second
	store := newStore(t, b, cfg, handlers)
	if err := store.Start(); err != nil {
		t.Fatalf("start the dispatcher: %v", err)
	}
	return store
}

// await fails t unless ch is closed within d.
func await(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s did not happen within %s", what, d)
	}
}

// awaitJob waits until job id has status, and returns it.
func awaitJob(t *testing.T, store *jobs.JobStore, id, status string) *jobs.Job {
	t.Helper()
	var job *jobs.Job
	waitFor(t, 10*time.Second, fmt.Sprintf("job %s to be %s", id, status), func() (bool, error) {
		var err error
		job, err = store.Get(id)
		return err == nil && job.Status == status, err
	})
	return job
}

// TestExpiredLockLateSuccess lets a handler outlive its lock: its context
// ends at the lock's expiry, the job is claimed again, and when the first
// run then returns success it does not complete the job under the second
// run, which fails the job for good.
func TestExpiredLockLateSuccess(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		first, second := newRun(), newRun()
		store := startExpiryStore(t, b, map[string]func(*jobs.Job) error{
			"overrun": overrun(first, second, nil, errors.New("second run failed")),
			"probe":   func(*jobs.Job) error { return nil },
		})
		t.Cleanup(func() { closeOnce(first.release); closeOnce(second.release) })

		job, err := store.EnqueueWithOptions("overrun", nil, &jobs.JobEnqueueOptions{MaxRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		await(t, first.started, 5*time.Second, "the first run")
		await(t, first.cancelled, expiryLock+5*time.Second, "the end of the first run's context")
		if !errors.Is(first.ctxErr, context.DeadlineExceeded) {
			t.Errorf("the first run's context ended with %v, want the lock's deadline", first.ctxErr)
		}
		await(t, second.started, 5*time.Second, "the second claim")

		closeOnce(first.release) // the first run returns success, late
		// The probe can only be claimed once the first run's worker is free,
		// that is once its outcome was handed to the completer: the probe's
		// outcome is written after it.
		probe, err := store.Enqueue("probe", nil)
		if err != nil {
			t.Fatal(err)
		}
		awaitJob(t, store, probe.ID, jobs.StatusCompleted)
		got, err := store.Get(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != jobs.StatusProcessing || got.Attempts != 2 {
			t.Fatalf("after the first run's late success the job is %s in attempt %d, want processing in attempt 2",
				got.Status, got.Attempts)
		}

		closeOnce(second.release)
		got = awaitJob(t, store, job.ID, jobs.StatusFailed)
		if got.Attempts != 2 || got.LastError != "second run failed" {
			t.Errorf("final job: %d attempts, last_error %q; want 2 attempts and the second run's error",
				got.Attempts, got.LastError)
		}
	})
}

// TestExpiredLockLateFailure lets a handler outlive its lock and fail after
// the second claim of its job completed it: the job stays completed.
func TestExpiredLockLateFailure(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		first, second := newRun(), newRun()
		second.release = nil // the second run succeeds at once
		store := startExpiryStore(t, b, map[string]func(*jobs.Job) error{
			"overrun": overrun(first, second, errors.New("first run failed late"), nil),
		})
		t.Cleanup(func() { closeOnce(first.release) })

		job, err := store.Enqueue("overrun", nil)
		if err != nil {
			t.Fatal(err)
		}
		await(t, first.cancelled, expiryLock+5*time.Second, "the end of the first run's context")
		awaitJob(t, store, job.ID, jobs.StatusCompleted)

		closeOnce(first.release) // the first run fails, late
		// Stop waits for the first run's worker and writes every outcome
		// handed to the completer.
		if err := store.Stop(); err != nil {
			t.Fatal(err)
		}
		got, err := store.Get(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != jobs.StatusCompleted || got.Attempts != 2 || strings.Contains(got.LastError, "first run failed late") {
			t.Errorf("final job: %s after %d attempts, last_error %q; want completed after 2, without the late error",
				got.Status, got.Attempts, got.LastError)
		}
	})
}

// closeOnce closes ch unless it is nil or closed already. Only the test
// goroutine and its cleanups call it, one after the other.
func closeOnce(ch chan struct{}) {
	if ch == nil {
		return
	}
	select {
	case <-ch:
	default:
		close(ch)
	}
}
