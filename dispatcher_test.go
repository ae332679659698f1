package jobs

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/service"
)

var errTest = errors.New("handler failed on purpose")

func TestJobIsProcessedOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var calls counter
		got := make(chan string, 1)
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"mail_digest": func(job *Job) error {
				var p struct {
					UserID string `json:"user_id"`
				}
				if err := job.UnmarshalPayload(&p); err != nil {
					return err
				}
				calls.add(job.ID)
				got <- p.UserID
				return nil
			},
		})
		job := mustEnqueue(t, store, "mail_digest", map[string]any{"user_id": "123"}, nil)
		done := waitStatus(t, store, job.ID, StatusCompleted)
		if <-got != "123" {
			t.Fatal("handler saw the wrong payload")
		}
		if calls.get(job.ID) != 1 || done.Attempts != 1 || done.Retries != 0 || done.LastError != "" {
			t.Fatalf("calls %d, job %+v", calls.get(job.ID), done)
		}
		if !done.LockedUntil.IsZero() {
			t.Fatalf("completed job keeps a lock until %v", done.LockedUntil)
		}
	})
}

func TestEnqueueWakesDispatcherBeforePoll(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.PollInterval = time.Hour // only the in-process wake-up can run the job
		store := startedStore(t, b, cfg, map[string]func(*Job) error{
			"t": func(*Job) error { return nil },
		})
		// The first job may be taken by the claim at start; once it is done
		// the dispatcher is idle and only a wake-up can run the second.
		for i := 0; i < 2; i++ {
			job := mustEnqueue(t, store, "t", nil, nil)
			waitStatus(t, store, job.ID, StatusCompleted)
		}
	})
}

func TestDelayedJobRunsAtRunAtNotBefore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.PollInterval = time.Hour // the dispatcher must wake for run_at itself
		ran := make(chan time.Time, 1)
		store := startedStore(t, b, cfg, map[string]func(*Job) error{
			"later": func(*Job) error { ran <- time.Now(); return nil },
		})
		runAt := time.Now().Add(300 * time.Millisecond)
		job, err := store.EnqueueAt("later", nil, runAt)
		if err != nil {
			t.Fatal(err)
		}
		done := waitStatus(t, store, job.ID, StatusCompleted)
		if at := <-ran; at.Before(runAt) {
			t.Fatalf("ran at %v, before run_at %v", at, runAt)
		}
		if done.Attempts != 1 {
			t.Fatalf("attempts %d", done.Attempts)
		}
	})
}

func TestFailureSchedulesRetryWithBackoff(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"fail": func(*Job) error { return errTest },
		})
		job := mustEnqueue(t, store, "fail", nil, nil)
		var retried *Job
		waitFor(t, 10*time.Second, "the retry to be scheduled", func() bool {
			var err error
			retried, err = store.Get(job.ID)
			if err != nil {
				t.Fatal(err)
			}
			return retried.Status == StatusPending && retried.Attempts == 1
		})
		if retried.Retries != 1 || retried.LastError != errTest.Error() {
			t.Fatalf("retried job %+v", retried)
		}
		// The retry is due one minute after the attempt failed; the
		// failure is recorded (updated) a little after it happened, never
		// before. Both times come from the dispatcher, not from this test,
		// so a slow test machine cannot blur them.
		if wait := retried.RunAt.Sub(retried.Updated); wait > time.Minute || wait < time.Minute-5*time.Second {
			t.Fatalf("first retry due %v after the failure was recorded, want 1m less the recording delay", wait)
		}
	})
}

func TestDefaultBackoffIsSquareMinutes(t *testing.T) {
	for retry, want := range map[int]time.Duration{1: time.Minute, 2: 4 * time.Minute, 3: 9 * time.Minute, 10: 100 * time.Minute} {
		if got := DefaultRetryBackoff(retry); got != want {
			t.Errorf("retry %d: %v, want %v", retry, got, want)
		}
	}
}

func TestRetriesExhaustedMarkFailed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var calls counter
		cfg := testConfig()
		cfg.RetryBackoff = func(int) time.Duration { return 0 }
		store := startedStore(t, b, cfg, map[string]func(*Job) error{
			"fail": func(job *Job) error {
				n := calls.add(job.ID)
				return errors.New("attempt " + string(rune('0'+n)))
			},
		})
		job := mustEnqueue(t, store, "fail", nil, &JobEnqueueOptions{MaxRetries: 2})
		failed := waitStatus(t, store, job.ID, StatusFailed)
		if calls.get(job.ID) != 3 {
			t.Fatalf("handler ran %d times, want 3 (1 + 2 retries)", calls.get(job.ID))
		}
		if failed.Attempts != 3 || failed.Retries != 2 || failed.LastError != "attempt 3" {
			t.Fatalf("failed job %+v", failed)
		}
	})
}

func TestNoRetriesRunsOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var calls counter
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"fail": func(job *Job) error { calls.add(job.ID); return errTest },
		})
		job := mustEnqueue(t, store, "fail", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		failed := waitStatus(t, store, job.ID, StatusFailed)
		if calls.get(job.ID) != 1 || failed.Retries != 0 {
			t.Fatalf("calls %d, job %+v", calls.get(job.ID), failed)
		}
	})
}

func TestPanicCountsAsFailedAttempt(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"boom": func(*Job) error { panic("kaboom") },
			"ok":   func(*Job) error { return nil },
		})
		job := mustEnqueue(t, store, "boom", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		failed := waitStatus(t, store, job.ID, StatusFailed)
		if !strings.Contains(failed.LastError, "kaboom") {
			t.Fatalf("last_error %q does not carry the panic", failed.LastError)
		}
		// The dispatcher survives the panic.
		ok := mustEnqueue(t, store, "ok", nil, nil)
		waitStatus(t, store, ok.ID, StatusCompleted)
	})
}

func TestOnlyRegisteredTopicsAreClaimed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.PollInterval = time.Hour // only wake-ups can run the jobs
		store := startedStore(t, b, cfg, map[string]func(*Job) error{
			"known": func(*Job) error { return nil },
		})
		unknown := mustEnqueue(t, store, "unknown", nil, nil)
		known := mustEnqueue(t, store, "known", nil, nil)
		waitStatus(t, store, known.ID, StatusCompleted)
		got, err := store.Get(unknown.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != StatusPending || got.Attempts != 0 {
			t.Fatalf("job of an unregistered topic was touched: %+v", got)
		}
		// Registering later picks it up at once, without waiting for a
		// poll.
		if err := store.Register("unknown", func(*Job) error { return nil }); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, store, unknown.ID, StatusCompleted)
	})
}

func TestWorkersBoundConcurrency(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.Workers = 3
		var running, peak atomic.Int32
		release := make(chan struct{})
		store := startedStore(t, b, cfg, map[string]func(*Job) error{
			"slow": func(*Job) error {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-release
				running.Add(-1)
				return nil
			},
		})
		var ids []string
		for i := 0; i < 10; i++ {
			ids = append(ids, mustEnqueue(t, store, "slow", i, nil).ID)
		}
		waitFor(t, 10*time.Second, "3 handlers to run", func() bool { return running.Load() == 3 })
		stats, err := store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if stats.Processing != 3 {
			t.Fatalf("%d jobs processing with 3 workers: claims must not exceed free workers", stats.Processing)
		}
		close(release)
		for _, id := range ids {
			waitStatus(t, store, id, StatusCompleted)
		}
		if peak.Load() != 3 {
			t.Fatalf("peak concurrency %d, want 3", peak.Load())
		}
	})
}

func TestExpiredLockIsRecovered(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var calls counter
		store := startedStore(t, b, testConfig(), nil)
		job := mustEnqueue(t, store, "crashy", nil, nil)
		crashedClaim(t, store, "crashy", 1)

		// Another worker (this process) picks it up once the lock expired.
		if err := store.Register("crashy", func(j *Job) error { calls.add(j.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		done := waitStatus(t, store, job.ID, StatusCompleted)
		if calls.get(job.ID) != 1 || done.Attempts != 2 || done.LastError != service.LockExpiredError {
			t.Fatalf("calls %d, job %+v", calls.get(job.ID), done)
		}
	})
}

func TestExpiredLockOnLastAttemptFails(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), nil)
		job := mustEnqueue(t, store, "poison", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		crashedClaim(t, store, "poison", 1)
		if err := store.Register("poison", func(*Job) error { t.Error("a job out of attempts ran"); return nil }); err != nil {
			t.Fatal(err)
		}
		failed := waitStatus(t, store, job.ID, StatusFailed)
		if failed.Attempts != 1 || failed.LastError != service.LockExpiredError {
			t.Fatalf("job %+v", failed)
		}
	})
}

// jobDriver returns the driver of store's job database.
func jobDriver(t *testing.T, store *JobStore) driver.Driver {
	t.Helper()
	db, err := store.p.currentDB()
	if err != nil {
		t.Fatal(err)
	}
	return db.drv
}

// crashedClaim claims n jobs of topic as a process that dies at once would:
// with a lock that has already expired.
func crashedClaim(t *testing.T, store *JobStore, topic string, n int) []driver.JobRow {
	t.Helper()
	drv := jobDriver(t, store)
	now := time.Now()
	rows, err := drv.Claim(context.Background(), driver.ClaimParams{
		Topics: []driver.ClaimTopic{{Topic: topic, Limit: n, LockedUntil: now.Add(-time.Millisecond)}},
		Limit:  n, Now: now,
	})
	if err != nil || len(rows) != n {
		t.Fatalf("crashed claim: %d rows, %v", len(rows), err)
	}
	return rows
}

func TestHandlerContextEndsAtLockExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.LockDuration = 200 * time.Millisecond
		cause := make(chan error, 1)
		store := startedStore(t, b, cfg, map[string]func(*Job) error{
			"long": func(job *Job) error {
				<-job.Context().Done()
				cause <- job.Context().Err()
				return job.Context().Err()
			},
		})
		mustEnqueue(t, store, "long", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		select {
		case err := <-cause:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("context ended with %v, want deadline exceeded", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("handler context was not cancelled at lock expiry")
		}
	})
}

func TestLateResultOfExpiredClaimIsFenced(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), nil)
		job := mustEnqueue(t, store, "t", nil, nil)
		first := crashedClaim(t, store, "t", 1)[0]
		drv := jobDriver(t, store)
		ctx := context.Background()
		if _, err := drv.RecoverExpired(ctx, driver.RecoverParams{Now: time.Now(), LastError: service.LockExpiredError}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		second, err := drv.Claim(ctx, driver.ClaimParams{
			Topics: []driver.ClaimTopic{{Topic: "t", Limit: 1, LockedUntil: now.Add(time.Minute)}},
			Limit:  1, Now: now,
		})
		if err != nil || len(second) != 1 {
			t.Fatalf("second claim: %v %v", second, err)
		}
		// The first, expired attempt reports late: it must not land.
		n, err := drv.Finish(ctx, driver.FinishParams{Outcomes: []driver.Outcome{{ID: job.ID, LockVersion: first.LockVersion, Status: StatusFailed, LastError: "late"}}, Now: time.Now()})
		if err != nil || n != 0 {
			t.Fatalf("stale outcome written: n=%d err=%v", n, err)
		}
		got, _ := store.Get(job.ID)
		if got.Status != StatusProcessing || got.Attempts != 2 {
			t.Fatalf("stale outcome changed the job: %+v", got)
		}
		n, err = drv.Finish(ctx, driver.FinishParams{Outcomes: []driver.Outcome{{ID: job.ID, LockVersion: second[0].LockVersion, Status: StatusCompleted}}, Now: time.Now()})
		if err != nil || n != 1 {
			t.Fatalf("current outcome not written: n=%d err=%v", n, err)
		}
		waitStatus(t, store, job.ID, StatusCompleted)
	})
}

func TestStopReleasesRunningJobsAtOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.ShutdownTimeout = 100 * time.Millisecond
		started := make(chan struct{}, 1)
		returned := make(chan error, 1)
		store := startedStore(t, b, cfg, map[string]func(*Job) error{
			"stuck": func(job *Job) error {
				started <- struct{}{}
				<-job.Context().Done()
				returned <- job.Context().Err()
				return job.Context().Err()
			},
		})
		job := mustEnqueue(t, store, "stuck", nil, nil)
		<-started
		if err := store.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := <-returned; !errors.Is(err, context.Canceled) {
			t.Fatalf("handler context ended with %v, want canceled", err)
		}
		got, err := store.Get(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != StatusPending || got.Attempts != 0 || !got.LockedUntil.IsZero() || got.RunAt.After(time.Now()) {
			t.Fatalf("after Stop the job is %+v, want pending now with its attempt given back", got)
		}
		if err := store.Stop(); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
	})
}

func TestStopWaitsForHandlersWithinGrace(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		started := make(chan struct{})
		release := make(chan struct{})
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"short": func(*Job) error { close(started); <-release; return nil },
		})
		job := mustEnqueue(t, store, "short", nil, nil)
		<-started
		stopped := make(chan error, 1)
		go func() { stopped <- store.Stop() }()
		close(release)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		got, _ := store.Get(job.ID)
		if got.Status != StatusCompleted {
			t.Fatalf("a handler finishing within the grace period left the job %s", got.Status)
		}
	})
}

func TestStopBeforeStartAndRestart(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		if err := store.Stop(); err != nil {
			t.Fatalf("Stop before Start: %v", err)
		}
		if err := store.Register("t", func(*Job) error { return nil }); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := store.Start(); err != nil {
				t.Fatal(err)
			}
			if err := store.Start(); err != nil {
				t.Fatalf("second Start: %v", err)
			}
			job := mustEnqueue(t, store, "t", nil, nil)
			waitStatus(t, store, job.ID, StatusCompleted)
			if err := store.Stop(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestRetentionDeletesOldCompletedJobsOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.Retention = 100 * time.Millisecond
		store := startedStore(t, b, cfg, map[string]func(*Job) error{
			"ok":   func(*Job) error { return nil },
			"fail": func(*Job) error { return errTest },
		})
		done := mustEnqueue(t, store, "ok", nil, nil)
		failed := mustEnqueue(t, store, "fail", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		waitStatus(t, store, failed.ID, StatusFailed)
		waitFor(t, 10*time.Second, "the completed job to be deleted", func() bool {
			_, err := store.Get(done.ID)
			return errors.Is(err, ErrNotFound)
		})
		if _, err := store.Get(failed.ID); err != nil {
			t.Fatalf("retention deleted a failed job: %v", err)
		}
	})
}
