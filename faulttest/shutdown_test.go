//go:build unix

package faulttest

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestGracefulShutdown stops a worker with SIGTERM while all its workers run
// handlers that would take an hour, two of which ignore their context. The
// process exits within PB_JOBS_SHUTDOWN_TIMEOUT plus a second; every job it
// held is pending at once, its attempt given back, although its lock would
// hold for five more minutes; and the next process runs them all at once.
func TestGracefulShutdown(t *testing.T) {
	bin := buildWorker(t)
	eachBackend(t, func(t *testing.T, b backend) {
		const (
			workers = 4
			grace   = 2 * time.Second
		)
		n := newNode(t, bin, b,
			fmt.Sprintf("PB_JOBS_WORKERS=%d", workers),
			fmt.Sprintf("PB_JOBS_SHUTDOWN_TIMEOUT=%s", grace),
			"PB_JOBS_LOCK_DURATION=5m", // recovery by lock expiry would time the test out
			"PB_JOBS_POLL_INTERVAL=100ms",
		)
		n.createSuperuser(superuserEmail, superuserPassword)
		p := n.start("FAULT_SLEEP=1h")
		table := openJobTable(t, b, n.dir)

		ctx := context.Background()
		c := superuserClient(t, n, 1)
		// Two of each kind run; four more wait behind them.
		topics := []string{"work", "stubborn", "work", "stubborn", "work", "work", "work", "work"}
		ids := make([]string, len(topics))
		for i, topic := range topics {
			id, status, err := c.enqueue(ctx, map[string]any{"topic": topic, "payload": i})
			if err != nil || status != http.StatusOK {
				t.Fatalf("enqueue %s: status %d, %v", topic, status, err)
			}
			ids[i] = id
		}
		waitFor(t, 10*time.Second, fmt.Sprintf("%d handlers running", workers), func() (bool, error) {
			runs, err := readExecLog(n.execLog)
			return len(runs) == workers, err
		})

		stopped := p.terminate()
		if limit := grace + time.Second; stopped > limit {
			t.Errorf("the worker took %s to exit after SIGTERM, want at most %s", stopped, limit)
		}
		for _, id := range ids {
			row, err := table.get(id)
			if err != nil {
				t.Fatal(err)
			}
			if row.Status != "pending" || row.Attempts != 0 {
				t.Errorf("after the shutdown, job %s (%s) is %s after %d attempts, want pending after 0",
					id, row.Topic, row.Status, row.Attempts)
			}
		}

		restarted := time.Now()
		p = n.start("FAULT_SLEEP=0")
		waitFor(t, 10*time.Second, "every job to complete after the restart", func() (bool, error) {
			completed, err := table.count("completed")
			return completed == len(ids), err
		})
		caughtUp := time.Since(restarted)
		p.terminate()

		runs, err := readExecLog(n.execLog)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.attempt != 1 {
				t.Errorf("job %s ran as attempt %d in process %d, want 1: a shutdown must give the attempt back",
					r.jobID, r.attempt, r.pid)
			}
		}
		t.Logf("%s: exit %s after SIGTERM (shutdown timeout %s, %d handlers running, 2 deaf to cancellation); "+
			"all %d jobs completed %s after the restart began (lock duration 5m)",
			b.name, stopped.Round(time.Millisecond), grace, workers, len(ids), caughtUp.Round(time.Millisecond))
	})
}

// TestGracefulShutdownMidStream stops a worker with SIGTERM three times at
// random points of a stream of 5,000 short jobs, restarting it after each
// stop. After every stop no job is left processing (each is completed or
// pending, none waits for its lock to expire), no job ever runs twice
// (every handler finished within the grace period), and every job ends
// completed.
func TestGracefulShutdownMidStream(t *testing.T) {
	bin := buildWorker(t)
	eachBackend(t, func(t *testing.T, b backend) {
		const (
			total = 5000
			stops = 6
		)
		n := newNode(t, bin, b,
			"PB_JOBS_WORKERS=10",
			"PB_JOBS_SHUTDOWN_TIMEOUT=5s",
			"PB_JOBS_LOCK_DURATION=5m", // a job a stop leaves processing stays so: caught, not recovered
			"PB_JOBS_POLL_INTERVAL=100ms",
			"FAULT_SLEEP=2ms",
		)
		p := n.start(fmt.Sprintf("FAULT_ENQUEUE=%d", total))
		table := openJobTable(t, b, n.dir)

		marks := randomMarks(total, stops)
		var exits []time.Duration
		for _, mark := range marks {
			waitFor(t, time.Minute, fmt.Sprintf("%d recorded runs", mark), func() (bool, error) {
				runs, err := readExecLog(n.execLog)
				return len(runs) >= mark, err
			})
			exits = append(exits, p.terminate().Round(time.Millisecond))
			checkNothingProcessing(t, table, n.execLog, p.pid())
			p = n.start()
		}
		waitFor(t, time.Minute, "every job to complete", func() (bool, error) {
			completed, err := table.count("completed")
			return completed == total, err
		})
		p.terminate()

		rows, err := table.all()
		if err != nil {
			t.Fatal(err)
		}
		runs, err := readExecLog(n.execLog)
		if err != nil {
			t.Fatal(err)
		}
		perJob := runsPerJob(runs, "work")
		checkEveryJobRan(t, rows, perJob, total)
		if extra := len(runs) - total; extra != 0 {
			t.Errorf("%d runs for %d jobs: a graceful stop made jobs run again", len(runs), total)
		}
		t.Logf("%s: stops after %v recorded runs took %v; %d runs for %d jobs", b.name, marks, exits, len(runs), total)
	})
}

// checkNothingProcessing fails t if a job is left processing after process
// pid stopped gracefully: such a job waits for its lock to expire. It says
// which of them pid claimed without ever running them.
func checkNothingProcessing(t *testing.T, table *jobTable, execLog string, pid int) {
	t.Helper()
	claims, err := table.processing()
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) == 0 {
		return
	}
	runs, err := readExecLog(execLog)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(map[claim]bool)
	for _, r := range runs {
		if r.pid == pid {
			ran[claim{id: r.jobID, attempts: r.attempt}] = true
		}
	}
	neverRan := 0
	for c := range claims {
		if !ran[c] {
			neverRan++
		}
	}
	t.Fatalf("after a graceful stop, jobs still processing, waiting for their lock to expire: %d; "+
		"claimed by the stopped process but never run: %d (a claim cut short by the stop?)",
		len(claims), neverRan)
}
