package jobs

import (
	"testing"
	"time"
)

// TestRuntimeKeepsTimeByThePluginClock shifts the plugin's clock an hour
// ahead of the system's, as on a process whose clock is off. A job due in
// half an hour by the system clock is due now by the plugin's: it runs at
// once, without waiting for a poll; its times are the plugin's; and its
// handler's context still ends LockDuration after the claim, not an hour
// sooner.
func TestRuntimeKeepsTimeByThePluginClock(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		const ahead = time.Hour
		cfg := testConfig()
		cfg.PollInterval = time.Hour // only the enqueue's wake-up can run the job
		left := make(chan time.Duration, 1)
		store := GetJobStore(newApp(t, b, cfg))
		store.p.clock.Shift(ahead)
		if err := store.Register("t", func(job *Job) error {
			deadline, _ := job.Context().Deadline()
			left <- time.Until(deadline)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := store.Start(); err != nil {
			t.Fatal(err)
		}

		before := time.Now()
		job, err := store.EnqueueAt("t", nil, before.Add(ahead/2))
		if err != nil {
			t.Fatal(err)
		}
		if job.Created.Before(before.Add(ahead - time.Millisecond)) {
			t.Errorf("a job enqueued at %v by the system clock was created at %v, want the plugin's clock, %v ahead",
				before, job.Created, ahead)
		}
		waitStatus(t, store, job.ID, StatusCompleted)
		if d := <-left; d > cfg.LockDuration || d < cfg.LockDuration-time.Minute {
			t.Errorf("the handler's context had %v left when it ran, want about LockDuration, %v", d, cfg.LockDuration)
		}
	})
}
