package jobs

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// TestUniqueKeyConcurrentEnqueues: 20 goroutines enqueue one key at once;
// one job is stored, and every enqueue returns it, all but one marked
// Duplicate.
func TestUniqueKeyConcurrentEnqueues(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		const n = 20
		jobs := make([]*Job, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				jobs[i], errs[i] = store.EnqueueWithOptions("digest", i, &JobEnqueueOptions{UniqueKey: "user-1"})
			}()
		}
		wg.Wait()
		duplicates := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("enqueue %d: %v", i, errs[i])
			}
			if jobs[i].ID != jobs[0].ID {
				t.Fatalf("enqueues returned jobs %s and %s for one key", jobs[0].ID, jobs[i].ID)
			}
			if jobs[i].Duplicate {
				duplicates++
			}
		}
		if duplicates != n-1 {
			t.Fatalf("%d enqueues marked duplicate, want %d", duplicates, n-1)
		}
		stats, err := store.Stats()
		if err != nil || stats.Total != 1 {
			t.Fatalf("stats %+v, %v: want one job", stats, err)
		}
		if got, err := store.Get(jobs[0].ID); err != nil || got.UniqueKey != "user-1" || got.Duplicate {
			t.Fatalf("Get: %+v, %v", got, err)
		}
	})
}

// TestUniqueKeyIsFreeOnceTheJobEnds: a key blocks another job of its topic
// while its job is pending or processing, never one of another topic, and
// is free again once the job completed, failed or was cancelled.
func TestUniqueKeyIsFreeOnceTheJobEnds(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"ok":   func(*Job) error { return nil },
			"fail": func(*Job) error { return errors.New("boom") },
		})
		key := &JobEnqueueOptions{UniqueKey: "k", MaxRetries: NoRetries}
		for topic, final := range map[string]string{"ok": StatusCompleted, "fail": StatusFailed} {
			first := mustEnqueue(t, store, topic, nil, key)
			waitStatus(t, store, first.ID, final)
			second := mustEnqueue(t, store, topic, nil, key)
			if second.Duplicate || second.ID == first.ID {
				t.Fatalf("%s: the key of a %s job still blocks: %+v", topic, final, second)
			}
		}
		later := &JobEnqueueOptions{UniqueKey: "k", RunAt: time.Now().Add(time.Hour)}
		pending := mustEnqueue(t, store, "idle", nil, later)
		if other := mustEnqueue(t, store, "elsewhere", nil, later); other.Duplicate {
			t.Fatal("a key blocked a job of another topic")
		}
		if dup := mustEnqueue(t, store, "idle", nil, later); !dup.Duplicate || dup.ID != pending.ID {
			t.Fatalf("a second enqueue of a pending job's key returned %+v", dup)
		}
		if _, err := store.Cancel(pending.ID); err != nil {
			t.Fatal(err)
		}
		if again := mustEnqueue(t, store, "idle", nil, later); again.Duplicate {
			t.Fatal("the key of a cancelled job still blocks")
		}
		// The cancelled job's key is held again: it cannot be requeued.
		_, err := store.Requeue(pending.ID)
		expectErr(t, err, ErrCannotRequeue)
	})
}

// TestUniqueKeyInABatch: in EnqueueMany, a key twice in the batch, or a key
// already in flight, stores one job; the rest of the batch is stored.
func TestUniqueKeyInABatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		inFlight := mustEnqueue(t, store, "t", nil, &JobEnqueueOptions{UniqueKey: "old"})
		got, err := store.EnqueueMany([]JobEnqueueItem{
			{Topic: "t", Options: &JobEnqueueOptions{UniqueKey: "new"}},
			{Topic: "t", Options: &JobEnqueueOptions{UniqueKey: "new"}},
			{Topic: "t", Options: &JobEnqueueOptions{UniqueKey: "old"}},
			{Topic: "t"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Duplicate || !got[1].Duplicate || got[1].ID != got[0].ID {
			t.Errorf("a key twice in a batch: %+v and %+v", got[0], got[1])
		}
		if !got[2].Duplicate || got[2].ID != inFlight.ID {
			t.Errorf("a key in flight: %+v, want job %s", got[2], inFlight.ID)
		}
		if got[3].Duplicate {
			t.Errorf("a job without a key marked duplicate")
		}
		if stats, err := store.Stats(); err != nil || stats.Total != 3 {
			t.Fatalf("stats %+v, %v: want three jobs", stats, err)
		}
	})
}

// TestUniqueKeyInATransaction: on SQLite a duplicate is found inside the
// app's transaction; on PostgreSQL the job goes through the outbox and the
// duplicate is resolved when it is relayed, after the commit: the enqueue
// returns the job it would store, and the relay then stores nothing.
func TestUniqueKeyInATransaction(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, testConfig())
		store := GetJobStore(app)
		first := mustEnqueue(t, store, "t", nil, &JobEnqueueOptions{UniqueKey: "k"})
		var inTx *Job
		err := app.RunInTransaction(func(txApp core.App) error {
			var err error
			inTx, err = GetJobStore(txApp).EnqueueWithOptions("t", nil, &JobEnqueueOptions{UniqueKey: "k"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if b.name == "sqlite" && (!inTx.Duplicate || inTx.ID != first.ID) {
			t.Fatalf("in a transaction on SQLite: %+v, want the duplicate of %s", inTx, first.ID)
		}
		if b.name == "postgres" {
			waitFor(t, 10*time.Second, "the outbox to be relayed", func() bool { return outboxLen(t, app) == 0 })
		}
		if stats, err := store.Stats(); err != nil || stats.Total != 1 {
			t.Fatalf("stats %+v, %v: want the one job", stats, err)
		}
	})
}
