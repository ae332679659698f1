package jobs_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase/tests"
)

// newExampleStore returns the job store of a throwaway PocketBase app (a
// test app on a copy of a data directory, whose dispatcher does not start
// by itself), and a function that removes it.
func newExampleStore() (*jobs.JobStore, func()) {
	app, err := tests.NewTestApp()
	if err != nil {
		log.Fatal(err)
	}
	cfg := jobs.DefaultConfig()
	cfg.AutoStart, cfg.HTTPEnabled = false, false
	jobs.MustRegister(app, cfg)
	store := jobs.GetJobStore(app)
	return store, func() {
		_ = store.Stop()
		app.Cleanup()
	}
}

// waitUntil reads job id until done says it is done, for at most ten
// seconds.
func waitUntil(store *jobs.JobStore, id string, done func(*jobs.Job) bool) *jobs.Job {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		job, err := store.Get(id)
		if err != nil {
			log.Fatal(err)
		}
		if done(job) {
			return job
		}
	}
	log.Fatalf("job %s did not get done in time", id)
	return nil
}

// isFinal tells whether a job reached a final status.
func isFinal(job *jobs.Job) bool {
	return job.Status == jobs.StatusCompleted || job.Status == jobs.StatusFailed || job.Status == jobs.StatusCancelled
}

func ExampleMustRegister() {
	app, err := tests.NewTestApp()
	if err != nil {
		log.Fatal(err)
	}
	defer app.Cleanup()

	defer func() {
		err := recover().(error)
		fmt.Println(errors.Is(err, jobs.ErrInvalidConfig))
		fmt.Println(err)
	}()
	cfg := jobs.DefaultConfig()
	cfg.Workers = -1
	jobs.MustRegister(app, cfg)
	// Output:
	// true
	// invalid jobs config: Config.Workers = -1 must be positive (0 takes the default)
}

func ExampleJobStore_Register() {
	store, cleanup := newExampleStore()
	defer cleanup()

	err := store.Register("mail_digest", func(job *jobs.Job) error {
		var payload struct {
			UserID string `json:"user_id"`
		}
		if err := job.UnmarshalPayload(&payload); err != nil {
			return err
		}
		fmt.Println("Processing mail digest for user:", payload.UserID)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Start(); err != nil { // AutoStart does this when the app serves
		log.Fatal(err)
	}
	job, err := store.Enqueue("mail_digest", map[string]any{"user_id": "123"})
	if err != nil {
		log.Fatal(err)
	}

	job = waitUntil(store, job.ID, isFinal)
	fmt.Println(job.Status, "after", job.Attempts, "attempt")
	// Output:
	// Processing mail digest for user: 123
	// completed after 1 attempt
}

func ExampleJobStore_Enqueue() {
	store, cleanup := newExampleStore()
	defer cleanup()

	job, err := store.Enqueue("mail_digest", map[string]any{"user_id": "123"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.Topic, job.Status, string(job.Payload), job.MaxRetries)

	_, err = store.Enqueue(" ", nil)
	fmt.Println(errors.Is(err, jobs.ErrEmptyTopic))
	// Output:
	// mail_digest pending {"user_id":"123"} 3
	// true
}

func ExampleJobStore_EnqueueWithOptions() {
	store, cleanup := newExampleStore()
	defer cleanup()

	opts := &jobs.JobEnqueueOptions{
		RunAt:      time.Now().Add(time.Hour),
		MaxRetries: jobs.NoRetries,
		Priority:   10,
		UniqueKey:  "digest-user-123",
	}
	first, err := store.EnqueueWithOptions("mail_digest", map[string]any{"user_id": "123"}, opts)
	if err != nil {
		log.Fatal(err)
	}
	again, err := store.EnqueueWithOptions("mail_digest", map[string]any{"user_id": "123"}, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first.Priority, first.MaxRetries, first.Duplicate)
	fmt.Println(again.ID == first.ID, again.Duplicate)
	// Output:
	// 10 0 false
	// true true
}

func ExampleJobStore_EnqueueMany() {
	store, cleanup := newExampleStore()
	defer cleanup()

	batch, err := store.EnqueueMany([]jobs.JobEnqueueItem{
		{Topic: "resize", Payload: map[string]any{"image": "a.png"}},
		{Topic: "resize", Payload: map[string]any{"image": "b.png"}},
		{Topic: "notify", Payload: "done", Options: &jobs.JobEnqueueOptions{MaxRetries: jobs.NoRetries}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, job := range batch {
		fmt.Println(job.Topic, string(job.Payload))
	}

	// One bad item, and none is stored.
	_, err = store.EnqueueMany([]jobs.JobEnqueueItem{{Topic: "resize"}, {Topic: ""}})
	fmt.Println(err)
	stats, err := store.Stats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(stats.Total, "jobs")
	// Output:
	// resize {"image":"a.png"}
	// resize {"image":"b.png"}
	// notify "done"
	// enqueue item 1: topic must not be empty
	// 3 jobs
}

func ExampleJobStore_Cancel() {
	store, cleanup := newExampleStore()
	defer cleanup()

	job, err := store.EnqueueAt("report", nil, time.Now().Add(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	job, err = store.Cancel(job.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.Status)

	_, err = store.Cancel(job.ID)
	fmt.Println(errors.Is(err, jobs.ErrCannotCancel))

	job, err = store.Requeue(job.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(job.Status)
	// Output:
	// cancelled
	// true
	// pending
}

func ExampleJobStore_Schedule() {
	store, cleanup := newExampleStore()
	defer cleanup()

	if err := store.Schedule("nightly-report", "0 3 * * *", "report", map[string]any{"kind": "daily"}); err != nil {
		log.Fatal(err)
	}
	schedules, err := store.Schedules()
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range schedules {
		fmt.Println(s.Name, s.Cron, s.Topic, s.NextRun.Format("15:04 MST"))
	}

	err = store.Schedule("typo", "0 3 * *", "report", nil)
	fmt.Println(errors.Is(err, jobs.ErrInvalidSchedule))
	// Output:
	// nightly-report 0 3 * * * report 03:00 UTC
	// true
}

func ExampleSnooze() {
	store, cleanup := newExampleStore()
	defer cleanup()

	runs := 0
	err := store.Register("poll_export", func(job *jobs.Job) error {
		runs++
		if runs == 1 {
			fmt.Println("export not ready yet")
			return jobs.Snooze(10 * time.Millisecond) // pending again soon; the attempt does not count
		}
		fmt.Println("export ready")
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Start(); err != nil {
		log.Fatal(err)
	}
	job, err := store.Enqueue("poll_export", nil)
	if err != nil {
		log.Fatal(err)
	}

	job = waitUntil(store, job.ID, isFinal)
	fmt.Println(job.Status, "after", job.Attempts, "attempt")
	// Output:
	// export not ready yet
	// export ready
	// completed after 1 attempt
}

func ExampleSkipRetry() {
	store, cleanup := newExampleStore()
	defer cleanup()

	err := store.Register("charge", func(job *jobs.Job) error {
		// A declined card will not be accepted on a retry.
		return fmt.Errorf("charge card: %w", jobs.SkipRetry(errors.New("card declined")))
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Start(); err != nil {
		log.Fatal(err)
	}
	job, err := store.Enqueue("charge", map[string]any{"order": "A-17"})
	if err != nil {
		log.Fatal(err)
	}

	job = waitUntil(store, job.ID, isFinal)
	fmt.Printf("%s after %d of %d attempts: %s\n", job.Status, job.Attempts, job.MaxRetries+1, job.LastError)
	// Output:
	// failed after 1 of 4 attempts: charge card: card declined
}
