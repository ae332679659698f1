package jobs

import (
	"sync"
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
				waitStored(t, store, id) // on PostgreSQL, once the relay moved it from the outbox
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

// TestListTotalMatchesItemsWhileEnqueueing: while another goroutine
// enqueues jobs one at a time, every listing with room for all jobs holds
// exactly as many as its total says — the count and the page come from one
// snapshot — for a store and for a store bound to a transaction.
func TestListTotalMatchesItemsWhileEnqueueing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, testConfig())
		store := GetJobStore(app)
		// check lists until the enqueues are over, or at most maxLists
		// times: on SQLite a transaction holds them up until it ends.
		check := func(t *testing.T, lister *JobStore, e *backgroundEnqueuer) {
			t.Helper()
			const maxLists = 1000
			for range maxLists {
				list, err := lister.List(&JobFilter{Limit: MaxListLimit})
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				if int64(len(list.Items)) != list.Total {
					t.Fatalf("a listing with room for every job holds %d jobs, but says total %d", len(list.Items), list.Total)
				}
				select {
				case <-e.finished:
					return
				default:
				}
			}
		}
		const jobs = MaxListLimit / 2
		t.Run("store", func(t *testing.T) {
			e := enqueueInBackground(t, store, jobs)
			defer e.stop()
			check(t, store, e)
		})
		t.Run("store in a transaction", func(t *testing.T) {
			e := enqueueInBackground(t, store, jobs)
			defer e.stop()
			err := app.RunInTransaction(func(txApp core.App) error {
				check(t, GetJobStore(txApp), e)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	})
}

// backgroundEnqueuer enqueues jobs one at a time on a goroutine of its own.
type backgroundEnqueuer struct {
	wg       sync.WaitGroup
	quit     chan struct{}
	finished chan struct{} // closed when the goroutine returns
}

// enqueueInBackground starts enqueueing n jobs through store and returns
// once the first is stored, so what the caller does next overlaps the
// others.
func enqueueInBackground(t *testing.T, store *JobStore, n int) *backgroundEnqueuer {
	t.Helper()
	e := &backgroundEnqueuer{quit: make(chan struct{}), finished: make(chan struct{})}
	first := make(chan struct{})
	e.wg.Go(func() {
		defer close(e.finished)
		for i := range n {
			select {
			case <-e.quit:
				return
			default:
			}
			if _, err := store.Enqueue("t", nil); err != nil {
				t.Errorf("Enqueue: %v", err)
				return
			}
			if i == 0 {
				close(first)
			}
		}
	})
	select {
	case <-first:
	case <-e.finished:
	}
	return e
}

// stop ends the enqueues early and waits for the goroutine.
func (e *backgroundEnqueuer) stop() {
	close(e.quit)
	e.wg.Wait()
}

// TestEnqueueWakesOnlyForHandledTopics: an enqueue wakes this process's
// dispatcher — at once, or at the job's run_at — only for a topic it has a
// handler for: a job of a topic handled by another process, or by nobody,
// would only make it claim for nothing.
func TestEnqueueWakesOnlyForHandledTopics(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, testConfig())
		store := GetJobStore(app)
		if err := store.Register("mine", func(*Job) error { return nil }); err != nil {
			t.Fatal(err)
		}
		// The dispatcher is not started: nothing takes its wake-ups but
		// woken, which reports and clears them.
		w := store.p.waker
		woken := func() (now bool, at time.Time) {
			select {
			case <-w.Woken():
				now = true
			default:
			}
			at = w.Next()
			w.Passed(at)
			return now, at
		}
		later := time.Now().Add(time.Hour).Truncate(time.Microsecond)
		woken() // Register woke it, for jobs of "mine" that might wait

		mustEnqueue(t, store, "elsewhere", nil, nil)
		mustEnqueue(t, store, "elsewhere", nil, &JobEnqueueOptions{RunAt: later})
		if _, err := store.EnqueueMany([]JobEnqueueItem{{Topic: "elsewhere"}, {Topic: "nobody"}}); err != nil {
			t.Fatal(err)
		}
		if b.name == "sqlite" {
			// On PostgreSQL a transaction's jobs go through the outbox, whose
			// relay wakes the dispatcher once it has moved them.
			err := app.RunInTransaction(func(txApp core.App) error {
				_, err := GetJobStore(txApp).Enqueue("elsewhere", nil)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// On PostgreSQL every enqueue is also announced (NOTIFY) to the
		// processes that may handle its topic, and this process's listener
		// hears its own announcements: a wake-up at once may come from
		// there, whenever the notification arrives. A timed wake-up never
		// does, and on SQLite neither does one at once.
		if now, at := woken(); (now && b.name == "sqlite") || !at.IsZero() {
			t.Fatalf("enqueues of topics without a handler here woke the dispatcher (at once: %v; at: %v)", now, at)
		}

		mustEnqueue(t, store, "mine", nil, &JobEnqueueOptions{RunAt: later})
		if _, at := woken(); !at.Equal(later) {
			t.Fatalf("a delayed job of a handled topic asks for a wake-up at %v, want %v", at, later)
		}
		mustEnqueue(t, store, "mine", nil, nil)
		if now, _ := woken(); !now {
			t.Fatal("a job of a handled topic did not wake the dispatcher")
		}
	})
}
