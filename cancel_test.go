package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// runningJob enqueues a job of topic on store and waits until its handler
// (registered by the caller on a handler that sends the job on started)
// runs it.
func runningJob(t *testing.T, store *JobStore, topic string, started <-chan *Job) *Job {
	t.Helper()
	job := mustEnqueue(t, store, topic, nil, nil)
	select {
	case got := <-started:
		if got.ID != job.ID {
			t.Fatalf("handler started job %s, want %s", got.ID, job.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the handler to start")
	}
	return job
}

// blockUntilDone is a handler that reports the job on started, waits for
// its context to end, reports the cause on ended, and then returns nil: a
// late success that must not count.
func blockUntilDone(started chan<- *Job, ended chan<- error) func(*Job) error {
	return func(job *Job) error {
		started <- job
		<-job.Context().Done()
		ended <- context.Cause(job.Context())
		return nil
	}
}

// flushed waits until an outcome written after every earlier one has
// landed: it runs one more job of topic "flush" to completion.
func flushed(t *testing.T, store *JobStore) {
	t.Helper()
	waitStatus(t, store, mustEnqueue(t, store, "flush", nil, nil).ID, StatusCompleted)
}

func TestCancelPendingJob(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var calls counter
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"t":     func(job *Job) error { calls.add(job.ID); return nil },
			"flush": func(*Job) error { return nil },
		})
		job := mustEnqueue(t, store, "t", nil, &JobEnqueueOptions{RunAt: time.Now().Add(300 * time.Millisecond)})
		cancelled, err := store.Cancel(job.ID)
		if err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if cancelled.Status != StatusCancelled || cancelled.ID != job.ID {
			t.Fatalf("Cancel returned %+v", cancelled)
		}
		waitFor(t, 5*time.Second, "the job's run time to pass", func() bool { return time.Now().After(job.RunAt) })
		flushed(t, store)
		flushed(t, store) // a poll later too
		if n := calls.get(job.ID); n != 0 {
			t.Fatalf("a cancelled job ran %d times", n)
		}
		if got := waitStatus(t, store, job.ID, StatusCancelled); got.Attempts != 0 {
			t.Fatalf("cancelled job %+v", got)
		}
		stats, err := store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if stats.Cancelled != 1 || stats.Total != stats.Completed+1 {
			t.Fatalf("stats %+v: want 1 cancelled, counted in the total", stats)
		}
	})
}

// TestCancelRunningJob: the handler's context ends at once with
// ErrJobCancelled, and its late success does not overwrite cancelled.
func TestCancelRunningJob(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.PollInterval = time.Hour // only the local cancel can end the handler
		started, ended := make(chan *Job, 1), make(chan error, 1)
		store := startedStore(t, b, cfg, map[string]func(*Job) error{
			"long":  blockUntilDone(started, ended),
			"flush": func(*Job) error { return nil },
		})
		job := runningJob(t, store, "long", started)
		if _, err := store.Cancel(job.ID); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		select {
		case cause := <-ended:
			if !errors.Is(cause, ErrJobCancelled) {
				t.Fatalf("context cause %v, want ErrJobCancelled", cause)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the handler's context did not end after Cancel")
		}
		flushed(t, store)
		got, err := store.Get(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != StatusCancelled || !got.LockedUntil.IsZero() {
			t.Fatalf("after the handler's late success: %+v, want cancelled without a lock", got)
		}
	})
}

// TestCancelElsewhereEndsTheHandler: a cancel the process running the job
// does not make itself reaches its handler: through the claim watcher's
// poll, and on PostgreSQL through a notification even without polling.
func TestCancelElsewhereEndsTheHandler(t *testing.T) {
	t.Run("poll", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, b backend) {
			started, ended := make(chan *Job, 1), make(chan error, 1)
			store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
				"long": blockUntilDone(started, ended),
			})
			job := runningJob(t, store, "long", started)
			// Straight through the driver, as another process would.
			_, err := jobDriver(t, store).Cancel(context.Background(), driver.CancelParams{ID: job.ID, Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			expectCancelled(t, ended)
		})
	})
	t.Run("notification", func(t *testing.T) {
		t.Parallel()
		pg := backendNamed(t, "postgres")
		cfg := testConfig()
		cfg.PollInterval = time.Hour // only the notification can reach the handler
		pg.configure(t, &cfg)
		shared := backend{name: pg.name, configure: func(testing.TB, *Config) {}}
		started, ended := make(chan *Job, 1), make(chan error, 1)
		worker := startedStore(t, shared, cfg, map[string]func(*Job) error{
			"long": blockUntilDone(started, ended),
		})
		other := GetJobStore(newApp(t, shared, cfg))
		job := runningJob(t, worker, "long", started)
		if _, err := other.Cancel(job.ID); err != nil {
			t.Fatal(err)
		}
		expectCancelled(t, ended)
	})
}

// expectCancelled waits for a handler's context to end with ErrJobCancelled.
func expectCancelled(t *testing.T, ended <-chan error) {
	t.Helper()
	select {
	case cause := <-ended:
		if !errors.Is(cause, ErrJobCancelled) {
			t.Fatalf("context cause %v, want ErrJobCancelled", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's context did not end after the job was cancelled")
	}
}

func TestCancelOnlyPendingOrProcessing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"ok":   func(*Job) error { return nil },
			"fail": func(*Job) error { return errors.New("boom") },
		})
		completed := mustEnqueue(t, store, "ok", nil, nil)
		failed := mustEnqueue(t, store, "fail", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		cancelled := mustEnqueue(t, store, "idle", nil, nil)
		waitStatus(t, store, completed.ID, StatusCompleted)
		waitStatus(t, store, failed.ID, StatusFailed)
		if _, err := store.Cancel(cancelled.ID); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{completed.ID, failed.ID, cancelled.ID} {
			_, err := store.Cancel(id)
			expectErr(t, err, ErrCannotCancel)
		}
		_, err := store.Cancel("nosuchjob000000")
		expectErr(t, err, ErrNotFound)
	})
}

func TestRequeueAndDeleteCancelledJobs(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"t": func(*Job) error { return nil },
		})
		later := time.Now().Add(time.Hour)
		again := mustEnqueue(t, store, "t", nil, &JobEnqueueOptions{RunAt: later})
		gone := mustEnqueue(t, store, "t", nil, &JobEnqueueOptions{RunAt: later})
		for _, id := range []string{again.ID, gone.ID} {
			if _, err := store.Cancel(id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := store.Requeue(again.ID); err != nil {
			t.Fatalf("Requeue of a cancelled job: %v", err)
		}
		waitStatus(t, store, again.ID, StatusCompleted)
		if err := store.Delete(gone.ID); err != nil {
			t.Fatalf("Delete of a cancelled job: %v", err)
		}
		_, err := store.Get(gone.ID)
		expectErr(t, err, ErrNotFound)
	})
}
