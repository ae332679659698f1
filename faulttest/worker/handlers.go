package main

import (
	"fmt"
	"os"
	"time"

	"github.com/pocketbase-jobs/jobs"
)

// Topics the worker has handlers for.
const (
	topicWork     = "work"
	topicStubborn = "stubborn"
	topicPoison   = "poison"
	topicOrder    = "order" // enqueued by the order route
)

// registerHandlers binds the handler of every test topic on store. Each
// handler records its run before anything else, so a run that the process
// does not survive is on record too.
func registerHandlers(store *jobs.JobStore, rec *recorder, sleep time.Duration) error {
	handlers := map[string]func(*jobs.Job) error{
		topicWork: func(job *jobs.Job) error {
			if err := rec.record(job); err != nil {
				return err
			}
			return pause(job, sleep)
		},
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

// pause waits d, or until the job's context ends, and then returns the
// context's error.
func pause(job *jobs.Job, d time.Duration) error {
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
