package jobs

import (
	"errors"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// errRollback is what the hook of TestEnqueueCommitsWithTheRecord returns
// to roll a record back after it enqueued its job.
var errRollback = errors.New("roll the record back")

// bindEnqueueWithRecord binds the README's pattern on the collection posts:
// the record's insert and its job's enqueue in one transaction. A record
// titled "rollback" fails after both, to show they go together.
func bindEnqueueWithRecord(app core.App) {
	app.OnRecordCreateExecute("posts").BindFunc(func(e *core.RecordEvent) error {
		return e.App.RunInTransaction(func(txApp core.App) error {
			e.App = txApp
			if err := e.Next(); err != nil {
				return err
			}
			if _, err := GetJobStore(txApp).Enqueue("post_created", map[string]any{"id": e.Record.Id}); err != nil {
				return err
			}
			if e.Record.GetString("title") == "rollback" {
				return errRollback
			}
			return nil
		})
	})
}

// TestEnqueueCommitsWithTheRecord: a job enqueued in OnRecordCreateExecute
// within the record's transaction exists once the record does, and a
// record that fails after the enqueue takes its job with it.
func TestEnqueueCommitsWithTheRecord(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, testConfig())
		posts := core.NewBaseCollection("posts")
		posts.Fields.Add(&core.TextField{Name: "title"})
		if err := app.Save(posts); err != nil {
			t.Fatal(err)
		}
		bindEnqueueWithRecord(app)
		store := GetJobStore(app)
		jobOf := func(recordID string) []*Job {
			list, err := store.List(&JobFilter{Topic: "post_created", Limit: MaxListLimit})
			if err != nil {
				t.Fatal(err)
			}
			var found []*Job
			for _, j := range list.Items {
				var p struct{ ID string }
				if err := j.UnmarshalPayload(&p); err != nil {
					t.Fatal(err)
				}
				if p.ID == recordID {
					found = append(found, j)
				}
			}
			return found
		}

		kept := core.NewRecord(posts)
		kept.Set("title", "kept")
		if err := app.Save(kept); err != nil {
			t.Fatalf("save: %v", err)
		}
		waitFor(t, 10*time.Second, "the job of the saved record", func() bool { return len(jobOf(kept.Id)) == 1 })

		dropped := core.NewRecord(posts)
		dropped.Set("title", "rollback")
		if err := app.Save(dropped); !errors.Is(err, errRollback) {
			t.Fatalf("save of a record whose hook fails: %v, want errRollback", err)
		}
		if _, err := app.FindRecordById("posts", dropped.Id); err == nil {
			t.Fatal("the record whose hook failed was stored")
		}
		// A later record's job shows the relay (PostgreSQL) has moved what it had.
		later := core.NewRecord(posts)
		later.Set("title", "later")
		if err := app.Save(later); err != nil {
			t.Fatalf("save: %v", err)
		}
		waitFor(t, 10*time.Second, "the job of the later record", func() bool { return len(jobOf(later.Id)) == 1 })
		if jobs := jobOf(dropped.Id); len(jobs) != 0 {
			t.Fatalf("the record that was rolled back left job %s", jobs[0].ID)
		}
	})
}
