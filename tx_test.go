package jobs

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

func TestEnqueueInTransaction(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, testConfig())
		store := GetJobStore(app)

		var committed *Job
		err := app.RunInTransaction(func(txApp core.App) error {
			var err error
			committed, err = GetJobStore(txApp).Enqueue("t", map[string]any{"n": 1})
			if err != nil {
				return err
			}
			// Outside the transaction the job does not exist yet.
			if _, err := store.Get(committed.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("uncommitted job visible outside the transaction: %v", err)
			}
			// Inside it, it does when the jobs live in the app's SQLite
			// (with PostgreSQL it waits in the app's outbox until commit).
			if _, err := GetJobStore(txApp).Get(committed.ID); b.name == "sqlite" && err != nil {
				t.Errorf("job not visible inside its transaction: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		waitStored(t, store, committed.ID)

		var rolledBack *Job
		err = app.RunInTransaction(func(txApp core.App) error {
			var err error
			rolledBack, err = GetJobStore(txApp).Enqueue("t", nil)
			if err != nil {
				return err
			}
			return errTest
		})
		if !errors.Is(err, errTest) {
			t.Fatalf("transaction error %v", err)
		}
		_, err = store.Get(rolledBack.ID)
		expectErr(t, err, ErrNotFound)
	})
}

func TestTransactionalEnqueueRunsAfterCommit(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"t": func(*Job) error { return nil },
		})
		app := store.p.app
		// Warm up so the dispatcher is idle and only the commit wake-up can
		// run the transactional job before the poll.
		waitStatus(t, store, mustEnqueue(t, store, "t", nil, nil).ID, StatusCompleted)
		job, err := enqueueInTransaction(app, "t", nil)
		if err != nil {
			t.Fatal(err)
		}
		waitStored(t, store, job.ID)
		waitStatus(t, store, job.ID, StatusCompleted)
	})
}

func TestEnqueueFromRecordHooks(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, testConfig())
		var inTx, afterSuccess string
		failAfterEnqueue := false
		app.OnRecordCreate("demo1").BindFunc(func(e *core.RecordEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			job, err := GetJobStore(e.App).Enqueue("on_create", map[string]any{"id": e.Record.Id})
			if err != nil {
				return err
			}
			inTx = job.ID
			if failAfterEnqueue {
				return errTest
			}
			return nil
		})
		app.OnRecordAfterCreateSuccess("demo1").BindFunc(func(e *core.RecordEvent) error {
			job, err := GetJobStore(e.App).Enqueue("after_create", map[string]any{"id": e.Record.Id})
			if err != nil {
				return err
			}
			afterSuccess = job.ID
			return e.Next()
		})

		collection, err := app.FindCollectionByNameOrId("demo1")
		if err != nil {
			t.Fatal(err)
		}
		record := core.NewRecord(collection)
		record.Set("text", "hello")
		if err := app.Save(record); err != nil {
			t.Fatal(err)
		}
		store := GetJobStore(app)
		for _, id := range []string{inTx, afterSuccess} {
			if id == "" {
				t.Fatal("a hook did not enqueue")
			}
			waitStored(t, store, id)
		}

		// A failed save in a transaction (as the record API saves) rolls
		// back the job enqueued by its hook.
		before, _ := store.Stats()
		failAfterEnqueue = true
		record = core.NewRecord(collection)
		record.Set("text", "rolled back")
		err = app.RunInTransaction(func(txApp core.App) error { return txApp.Save(record) })
		if !errors.Is(err, errTest) {
			t.Fatalf("save error %v", err)
		}
		after, _ := store.Stats()
		if _, err := store.Get(inTx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("job %s of the rolled back save exists: %v", inTx, err)
		}
		if after.Total != before.Total {
			t.Fatalf("a rolled back save left %d new jobs", after.Total-before.Total)
		}
	})
}

// waitStored waits until job id can be read from the job database: at once
// on SQLite, and on PostgreSQL once the relay has copied a job enqueued in a
// transaction from the app's outbox, which it does right after the commit.
func waitStored(t *testing.T, store *JobStore, id string) {
	t.Helper()
	waitFor(t, 10*time.Second, "job "+id+" to be in the job database", func() bool {
		_, err := store.Get(id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("get %s: %v", id, err)
		}
		return err == nil
	})
}

// enqueueInTransaction enqueues a job through the store of a transaction
// of app, which commits unless the enqueue fails.
func enqueueInTransaction(app core.App, topic string, payload any) (*Job, error) {
	var job *Job
	err := app.RunInTransaction(func(txApp core.App) error {
		var err error
		job, err = GetJobStore(txApp).Enqueue(topic, payload)
		return err
	})
	return job, err
}

// TestTransactionalEnqueueReturnsTheJobAsStored: a job enqueued in a
// transaction, to run at a time with nanoseconds in the local zone, comes
// back from the enqueue exactly as Get reads it once it is stored — on
// PostgreSQL too, where the enqueue only wrote it to the app's outbox.
func TestTransactionalEnqueueReturnsTheJobAsStored(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, testConfig())
		runAt := time.Now().Add(time.Hour).Local()
		var enqueued *Job
		err := app.RunInTransaction(func(txApp core.App) error {
			var err error
			enqueued, err = GetJobStore(txApp).EnqueueAt("t", map[string]any{"n": 1}, runAt)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		store := GetJobStore(app)
		waitStored(t, store, enqueued.ID)
		stored, err := store.Get(enqueued.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(stored)
		got, _ := json.Marshal(enqueued)
		if string(got) != string(want) {
			t.Errorf("the enqueue returned\n%s\nbut the job is stored as\n%s", got, want)
		}
	})
}
