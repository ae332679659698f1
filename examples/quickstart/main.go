// Command quickstart is a PocketBase app with the jobs plugin: the example
// of the README's "Use it in your app" as a whole program, with two routes
// that enqueue jobs.
//
//	go run ./examples/quickstart serve
//	curl -X POST http://127.0.0.1:8090/send-digest    # prints "Processing mail digest for user: 123"
//	curl -X POST http://127.0.0.1:8090/flaky-webhook  # a job that fails, and is failed a few seconds later
//	go run ./examples/quickstart jobs list            # the jobs, from the command line
//
// The routes need no auth, to keep the example short: an app would guard
// them, or enqueue from its own hooks.
package main

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase-jobs/jobs/jobscmd"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
)

func main() {
	app := pocketbase.New()
	if err := setUp(app); err != nil {
		log.Fatal(err) // e.g. a bad PB_JOBS_* value, named in one line
	}
	jobscmd.MustRegister(app, app.RootCmd) // "jobs list", "jobs requeue ID", ...
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}

// setUp registers the jobs plugin on app, its handlers once the app is
// bootstrapped, and the routes that enqueue jobs once it serves.
func setUp(app core.App) error {
	cfg := jobs.DefaultConfig()
	// Retry k after k seconds instead of k² minutes, so that a job that
	// keeps failing is failed within seconds.
	cfg.RetryBackoff = func(retry int) time.Duration { return time.Duration(retry) * time.Second }
	if err := jobs.Register(app, cfg); err != nil {
		return err
	}

	// Handlers are registered once the app is bootstrapped.
	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		store := jobs.GetJobStore(e.App)
		if err := store.Register("mail_digest", sendMailDigest); err != nil {
			return err
		}
		return store.Register("flaky_webhook", callFlakyWebhook)
	})

	app.OnServe().BindFunc(func(e *core.ServeEvent) error {
		e.Router.POST("/send-digest", enqueue("mail_digest", map[string]any{"user_id": "123"}, nil))
		// Two retries: three attempts, the last one 3 seconds after the first.
		e.Router.POST("/flaky-webhook", enqueue("flaky_webhook", map[string]any{"url": "https://example.com/hook"},
			&jobs.JobEnqueueOptions{MaxRetries: 2}))
		return e.Next()
	})
	return nil
}

// enqueue returns a route handler that enqueues a job of topic with payload
// and opts, and answers with the job's id.
func enqueue(topic string, payload any, opts *jobs.JobEnqueueOptions) func(*core.RequestEvent) error {
	return func(re *core.RequestEvent) error {
		job, err := jobs.GetJobStore(re.App).EnqueueWithOptions(topic, payload, opts)
		if err != nil {
			return err
		}
		return re.JSON(http.StatusOK, map[string]any{"job_id": job.ID})
	}
}

// sendMailDigest handles mail_digest jobs.
func sendMailDigest(job *jobs.Job) error {
	var payload struct {
		UserID string `json:"user_id"`
	}
	if err := job.UnmarshalPayload(&payload); err != nil {
		return err // a failed attempt, retried like any other
	}
	// A real handler builds and sends the digest here.
	log.Printf("Processing mail digest for user: %s", payload.UserID)
	return nil
}

// errWebhookDown is the error of every flaky_webhook job.
var errWebhookDown = errors.New("503 Service Unavailable")

// callFlakyWebhook handles flaky_webhook jobs. It stands for a call to a
// server that is down: every attempt fails, so the job ends failed and can be
// requeued.
func callFlakyWebhook(job *jobs.Job) error {
	var payload struct {
		URL string `json:"url"`
	}
	if err := job.UnmarshalPayload(&payload); err != nil {
		return err
	}
	return fmt.Errorf("POST %s: %w", payload.URL, errWebhookDown)
}
