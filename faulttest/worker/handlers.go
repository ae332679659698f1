package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pocketbase-jobs/jobs"
)

// Topics the worker has handlers for.
const (
	topicWork     = "work"
	topicDigest   = "digest" // a second stream, which the tests pause
	topicStubborn = "stubborn"
	topicPoison   = "poison"
	topicOrder    = "order" // enqueued by the order route
)

// registerHandlers binds the handler of every test topic on store. Each
// handler records its run before anything else, so a run that the process
// does not survive is on record too.
func registerHandlers(store *jobs.JobStore, rec *recorder, sleep time.Duration) error {
	handlers := map[string]func(*jobs.Job) error{
		topicWork:   sleeper(rec, sleep),
		topicDigest: sleeper(rec, sleep),
		topicStubborn: func(job *jobs.Job) error {
			if err := rec.record(job); err != nil {
				return err
			}
			time.Sleep(sleep) // deliberately deaf to job.Context()
			return nil
		},
		topicPoison: func(job *jobs.Job) error {
			if err := rec.record(job); err != nil {
				return err
			}
			return killSelf()
		},
		topicOrder: rec.record,
	}
	for topic, h := range handlers {
		if err := store.Register(topic, h); err != nil {
			return fmt.Errorf("register the %q handler: %w", topic, err)
		}
	}
	return nil
}

// sleeper returns a handler that records its run and sleeps d unless its
// context ends first. A run whose context ended because its job was
// cancelled is recorded once more, as "cancelled", when it returns.
func sleeper(rec *recorder, d time.Duration) func(*jobs.Job) error {
	return func(job *jobs.Job) error {
		if err := rec.record(job); err != nil {
			return err
		}
		err := nap(job, d)
		if errors.Is(context.Cause(job.Context()), jobs.ErrJobCancelled) {
			return errors.Join(err, rec.append(kindCancelled, job.ID, job.Attempts, 0))
		}
		return err
	}
}

// nap waits d, or until the job's context ends, and then returns the
// context's error.
func nap(job *jobs.Job, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-job.Context().Done():
		return fmt.Errorf("job %s interrupted: %w", job.ID, job.Context().Err())
	}
}

// killSelf ends the process at once, as a crash would: no deferred calls, no
// shutdown hooks (SIGKILL on Unix).
func killSelf() error {
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		return fmt.Errorf("find own process: %w", err)
	}
	if err := self.Kill(); err != nil {
		return fmt.Errorf("kill own process: %w", err)
	}
	select {} // the kill is asynchronous; never report an outcome
}
