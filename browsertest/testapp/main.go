// Command testapp is the PocketBase app the browser tests drive: the jobs
// plugin with handlers whose outcome each test can count on.
//
//	testapp superuser upsert admin@example.com pass-1234567 --dir DIR
//	testapp serve --http 127.0.0.1:8090 --dir DIR
//
// Topics:
//   - ok: the handler succeeds, so a job of it is completed;
//   - fail: the handler always returns an error, so a job enqueued with
//     max_retries 0 is failed at its first attempt;
//   - hold: the handler succeeds, like ok; the tests pause it to keep its
//     jobs pending, and no test counts on it otherwise.
//
// A job that must stay pending is enqueued with a far run_at. One schedule,
// nightly (at 06:00 UTC, enqueuing an ok job), fills the schedules table.
// Only these topics may be enqueued over HTTP, so that an enqueue of any
// other topic is an error the API reliably answers with.
package main

import (
	"errors"
	"log"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
)

// Topics the test app handles.
const (
	topicOK   = "ok"
	topicFail = "fail"
	topicHold = "hold"
)

// errAlwaysFails is what every job of topicFail fails with.
var errAlwaysFails = errors.New("this topic always fails")

func main() {
	// No dev mode, even when built into a temporary directory as by go run:
	// its SQL logging would bury the output a failing test prints.
	app := pocketbase.NewWithConfig(pocketbase.Config{HideStartBanner: true})
	if err := setUp(app); err != nil {
		log.Fatal(err)
	}
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}

// setUp registers the jobs plugin on app, and its handlers and schedule once
// the app is bootstrapped.
func setUp(app core.App) error {
	cfg := jobs.DefaultConfig()
	cfg.AllowedTopics = []string{topicOK, topicFail, topicHold}
	if err := jobs.Register(app, cfg); err != nil {
		return err
	}
	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		store := jobs.GetJobStore(e.App)
		succeed := func(*jobs.Job) error { return nil }
		handlers := map[string]func(*jobs.Job) error{
			topicOK:   succeed,
			topicFail: func(*jobs.Job) error { return errAlwaysFails },
			topicHold: succeed,
		}
		for topic, handler := range handlers {
			if err := store.Register(topic, handler); err != nil {
				return err
			}
		}
		return store.Schedule("nightly", "0 6 * * *", topicOK, map[string]any{"report": "nightly"})
	})
	return nil
}
