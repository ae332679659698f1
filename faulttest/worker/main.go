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
//	FAULT_SLEEP     how long "work" and "stubborn" jobs take (Go duration; default 0)
//	FAULT_ENQUEUE   number of "work" jobs to enqueue, in one transaction, when the app serves
//
// Topics:
//
//	work      records its run, sleeps FAULT_SLEEP unless its context ends first
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
)

// settings are the worker's own options, read from the environment.
type settings struct {
	execLog string
	sleep   time.Duration
	enqueue int
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
		if err := enqueueWork(jobs.GetJobStore(e.App), s.enqueue); err != nil {
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
	if v, ok := lookup(envEnqueue); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s, fmt.Errorf("%s=%q is not a count of jobs", envEnqueue, v)
		}
		s.enqueue = n
	}
	return s, nil
}

// enqueueWork adds n "work" jobs, numbered from 0, in one transaction.
func enqueueWork(store *jobs.JobStore, n int) error {
	if n == 0 {
		return nil
	}
	items := make([]jobs.JobEnqueueItem, n)
	for i := range items {
		items[i] = jobs.JobEnqueueItem{Topic: topicWork, Payload: map[string]int{"n": i}}
	}
	if _, err := store.EnqueueMany(items); err != nil {
		return fmt.Errorf("enqueue %d work jobs: %w", n, err)
	}
	return nil
}
