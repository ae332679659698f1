package jobstest_test

import (
	"context"
	"fmt"
	"log"
	"testing"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase-jobs/jobs/jobstest"
	"github.com/pocketbase/pocketbase/tests"
)

// signUp stands for the code under test: it enqueues a weekly digest for a
// new user.
func signUp(store *jobs.JobStore, userID string) error {
	_, err := store.Enqueue("mail_digest", map[string]any{"user_id": userID, "weekly": true})
	return err
}

// exampleT stands in for the *testing.T a test is given, which an example
// cannot have: it prints the failures. jobstest calls only these methods.
type exampleT struct{ testing.TB }

func (exampleT) Helper()                             {}
func (exampleT) Context() context.Context            { return context.Background() }
func (exampleT) Logf(string, ...any)                 {}
func (exampleT) Fatalf(format string, args ...any)   { fmt.Printf(format+"\n", args...) }
func (e exampleT) Errorf(format string, args ...any) { e.Fatalf(format, args...) }

// The body of a test, func TestSignUp(t *testing.T), with t.
func Example() {
	var t testing.TB = exampleT{}

	app, err := tests.NewTestApp()
	if err != nil {
		log.Fatal(err)
	}
	defer app.Cleanup()
	cfg := jobs.DefaultConfig()
	cfg.AutoStart = false // RunAll works the jobs
	jobs.MustRegister(app, cfg)
	store := jobs.GetJobStore(app)
	err = store.Register("mail_digest", func(job *jobs.Job) error {
		fmt.Println("sending", string(job.Payload))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	if err := signUp(store, "42"); err != nil {
		t.Fatalf("sign up: %v", err)
	}

	// Passes: the job's payload has these members (and more).
	jobstest.RequireEnqueued(t, store, "mail_digest", map[string]any{"user_id": "42"}, nil)
	res := jobstest.RunAll(t, store)
	fmt.Println(res)
	jobstest.RequireEnqueued(t, store, "mail_digest", nil, &jobstest.MatchOptions{Status: jobs.StatusCompleted})

	// Fails, and says which topics have jobs.
	jobstest.RequireEnqueued(t, store, "mail_digets", nil, nil)
	// Output:
	// sending {"user_id":"42","weekly":true}
	// 1 attempt: 1 completed
	// jobstest: no job of topic "mail_digets" matches any payload: the topic has no job; topics with jobs: "mail_digest" (1 job)
}
