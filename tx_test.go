package jobs

import (
	"errors"
	"testing"

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
		if _, err := store.Get(committed.ID); err != nil {
			t.Fatalf("committed job missing: %v", err)
		}

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
		var job *Job
		err := app.RunInTransaction(func(txApp core.App) error {
			var err error
			job, err = GetJobStore(txApp).Enqueue("t", nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
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
			if _, err := store.Get(id); err != nil {
				t.Fatalf("job %s enqueued from a hook is missing: %v", id, err)
			}
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
