// Command worker is the PocketBase app that the fault-injection tests of
// package faulttest start, kill and restart. It is an ordinary PocketBase
// binary with the jobs plugin registered with jobs.DefaultConfig(), so every
// PB_JOBS_* variable (PB_JOBS_POSTGRES_DSN included) configures it as it
// would any app, plus a few handlers for the tests' topics.
//
// Usage:
//
//	worker serve --http 127.0.0.1:PORT --dir DIR
//	worker superuser upsert EMAIL PASS --dir DIR
//
// Variables of its own:
//
//	FAULT_EXEC_LOG  file that every handler run is appended to (required to run jobs)
//	FAULT_SLEEP     how long "work", "digest" and "stubborn" jobs take (Go duration; default 0)
//	FAULT_ENQUEUE   number of "work" jobs to enqueue, in one transaction, when the app serves
//	FAULT_ENQUEUE_DIGEST
//	                number of "digest" jobs to enqueue with them, spread evenly among them
//
// Topics:
//
//	work      records its run, sleeps FAULT_SLEEP unless its context ends first,
//	          records the end of its context when its job was cancelled
//	digest    the same as work: a second stream, which a test can pause
//	stubborn  records its run, sleeps FAULT_SLEEP ignoring its context
//	poison    records its run, then kills its own process
//	order     records its run
//
// Route (no auth; the worker listens on loopback only):
//
//	POST /fault/orders/{id}[?hold=1]  stores an order and enqueues its "order"
//	                                  job in one transaction (held open with hold=1)
package main

import (
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
)

// Environment variables of the worker itself (PB_JOBS_* belong to the plugin).
const (
	envExecLog = "FAULT_EXEC_LOG"
	envSleep   = "FAULT_SLEEP"
	envEnqueue = "FAULT_ENQUEUE"
	envDigests = "FAULT_ENQUEUE_DIGEST"
)

// settings are the worker's own options, read from the environment.
type settings struct {
	execLog string
	sleep   time.Duration
	enqueue int
	digests int
}

func main() {
	s, err := readSettings(os.LookupEnv)
	if err != nil {
		log.Fatal(err)
	}

	app := pocketbase.New()
	jobs.MustRegister(app, jobs.DefaultConfig())

	rec := &recorder{path: s.execLog}

	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		return registerHandlers(jobs.GetJobStore(e.App), rec, s.sleep)
	})

	app.OnServe().BindFunc(func(e *core.ServeEvent) error {
		// The tests create their superuser from the command line: no
		// installer link, no browser.
		e.InstallerFunc = nil
		if err := createOrdersTable(e.App); err != nil {
			return err
		}
		e.Router.POST("/fault/orders/{id}", handleOrder(rec))
		if err := enqueueStream(jobs.GetJobStore(e.App), s.enqueue, s.digests); err != nil {
			return err
		}
		return e.Next()
	})

	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}

// readSettings reads the FAULT_* variables through lookup.
func readSettings(lookup func(string) (string, bool)) (settings, error) {
	var s settings
	s.execLog, _ = lookup(envExecLog)
	if v, ok := lookup(envSleep); ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return s, fmt.Errorf("%s=%q is not a duration: %w", envSleep, v, err)
		}
		s.sleep = d
	}
	for name, count := range map[string]*int{envEnqueue: &s.enqueue, envDigests: &s.digests} {
		if v, ok := lookup(name); ok && v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return s, fmt.Errorf("%s=%q is not a count of jobs", name, v)
			}
			*count = n
		}
	}
	return s, nil
}

// enqueueStream adds n "work" jobs and d "digest" jobs in one transaction,
// each topic's numbered from 0, the digests spread evenly among the work
// jobs. They are due one microsecond apart, in the order of the stream, so
// that they are claimed in that order whatever the topic.
func enqueueStream(store *jobs.JobStore, n, d int) error {
	total := n + d
	if total == 0 {
		return nil
	}
	first := time.Now().Add(-time.Duration(total) * time.Microsecond)
	items := make([]jobs.JobEnqueueItem, total)
	works, digests := 0, 0
	for i := range items {
		item := jobs.JobEnqueueItem{
			Topic:   topicWork,
			Payload: map[string]int{"n": works},
			Options: &jobs.JobEnqueueOptions{RunAt: first.Add(time.Duration(i) * time.Microsecond)},
		}
		// The digests due by the end of item i, spread evenly: (i+1)·d/total.
		if (i+1)*d/total > digests {
			item.Topic, item.Payload = topicDigest, map[string]int{"n": digests}
			digests++
		} else {
			works++
		}
		items[i] = item
	}
	if _, err := store.EnqueueMany(items); err != nil {
		return fmt.Errorf("enqueue %d work and %d digest jobs: %w", n, d, err)
	}
	return nil
}
