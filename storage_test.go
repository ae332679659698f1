package jobs

import (
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// This file holds behaviour of the job storage seen through the public API
// on every backend: how times are kept, how a listing reads, and when an
// enqueue wakes the dispatcher.

// TestRunAtAroundTheEpochReadsBack: a job enqueued to run at the Unix epoch,
// or before it, reads back with exactly that run_at, whether it was
// enqueued directly or in a transaction.
func TestRunAtAroundTheEpochReadsBack(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, testConfig())
		store := GetJobStore(app)
		for _, runAt := range []time.Time{time.Unix(0, 0), time.Unix(-1, 0), time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)} {
			job, err := store.EnqueueAt("t", nil, runAt)
			if err != nil {
				t.Fatalf("EnqueueAt(%v): %v", runAt, err)
			}
			var inTx *Job
			err = app.RunInTransaction(func(txApp core.App) error {
				var err error
				inTx, err = GetJobStore(txApp).EnqueueAt("t", nil, runAt)
				return err
			})
			if err != nil {
				t.Fatalf("EnqueueAt(%v) in a transaction: %v", runAt, err)
			}
			for _, id := range []string{job.ID, inTx.ID} {
				got, err := store.Get(id)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if !got.RunAt.Equal(runAt) {
					t.Errorf("a job enqueued to run at %v reads back with run_at %v", runAt, got.RunAt)
				}
			}
		}
	})
}
