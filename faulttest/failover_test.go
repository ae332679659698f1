//go:build unix

package faulttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
	"github.com/pocketbase/dbx"
)

// Timing of the failover test. The worker polls every failoverPoll, so a
// job another process enqueues after the failover and that starts within
// notifiedPickup was claimed on the notification: the listener reconnected.
const (
	failoverPoll   = 5 * time.Second
	notifiedPickup = time.Second
)

// TestPostgresFailover runs a worker on a DSN that names a primary and its
// synchronous standby (target_session_attrs=read-write), crashes the primary
// while jobs stream in through the HTTP API and a backlog is being worked
// off, and promotes the standby. The worker stays up, follows the DSN to
// the new primary (its pool, its listener and its notifications), logs the
// outage a few times at most, and every job it accepted completes. Jobs
// another process enqueues afterwards are claimed at once, on the
// notification, not at the next poll.
func TestPostgresFailover(t *testing.T) {
	const (
		backlog = 1000
		workers = 4
		// progress is how many runs the worker records before the
		// failover and after it.
		progress = 200
		// notified is how many jobs another process enqueues after the
		// failover, each of which must start within notifiedPickup.
		notified = 3
	)
	primary := pgtest.StartRestartable(t)
	standby := primary.StartStandby()
	dsn := pgtest.FailoverDSN(primary, standby)
	requirePostgresStore(t, dsn)
	b := backend{
		name:      "postgres",
		env:       []string{"PB_JOBS_POSTGRES_DSN=" + dsn},
		configure: func(cfg *jobs.Config) { cfg.PostgresDSN = dsn },
		open:      func(string) (*dbx.DB, error) { return dbx.Open("pgx", dsn) },
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("primary log (end):\n%s\nstandby log (end):\n%s", primary.LogTail(), standby.LogTail())
		}
	})

	bin := buildWorker(t)
	n := newNode(t, bin, b,
		fmt.Sprintf("PB_JOBS_WORKERS=%d", workers),
		"PB_JOBS_POLL_INTERVAL="+failoverPoll.String(),
		"PB_JOBS_LOCK_DURATION=3s", // claims whose outcome was lost run again soon
		"FAULT_SLEEP=2ms",
	)
	n.createSuperuser(superuserEmail, superuserPassword)
	p := n.start(fmt.Sprintf("FAULT_ENQUEUE=%d", backlog))

	c := superuserClient(t, n, 4)
	feed := startProducer(c, 10*time.Millisecond, map[string]any{"topic": "work"})
	defer feed.stop()

	runs := func() []execution {
		r, err := readExecLog(n.execLog)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	alive := func() {
		t.Helper()
		select {
		case <-p.done:
			t.Fatalf("the worker ended while its database failed over: %v", p.err)
		default:
		}
	}
	awaitRuns := func(what string, mark int) {
		t.Helper()
		waitFor(t, 20*time.Second, what, func() (bool, error) {
			alive()
			return len(runs()) >= mark, nil
		})
	}

	awaitRuns(fmt.Sprintf("%d recorded runs", progress), progress)
	failedAt := time.Now()
	primary.Stop("immediate")
	standby.Promote()
	promoted := time.Now()
	alive()
	// At most one claim per worker may still start its handler; a run
	// beyond those proves a claim on the new primary.
	awaitRuns("the worker to run jobs again after the failover", len(runs())+workers+1)
	t.Logf("failover: the standby was promoted %s after the crash; the worker claimed jobs again %s later",
		promoted.Sub(failedAt).Round(time.Millisecond), time.Since(promoted).Round(time.Millisecond))
	awaitRuns(fmt.Sprintf("%d more recorded runs", progress), len(runs())+progress)

	feed.stop()
	alive()
	// Each accepted job must be stored; an enqueue answered with an error
	// during the outage, or cut off by stopping the producer, may have
	// committed all the same, so the table may hold a few more.
	accepted := backlog + len(feed.accepted)
	unknown := sum(feed.refused) + feed.lost + 1
	table := openJobTable(t, b, n.dir) // opened now: it reaches the new primary
	waitFor(t, 20*time.Second, "every job to complete", func() (bool, error) { return table.allCompleted(accepted) })

	checkNotifiedPickups(t, b, n, notified)
	p.terminate() // also writes PocketBase's pending logs

	rows, err := table.all()
	if err != nil {
		t.Fatal(err)
	}
	accepted += notified
	if len(rows) > accepted+unknown {
		t.Errorf("the table holds %d jobs, but only %d were enqueued and %d more may have been",
			len(rows), accepted, unknown)
	}
	execs := runs()
	checkEveryJobRan(t, rows, runsPerJob(execs, "work"), len(rows))
	checkAccepted(t, table, feed.accepted)
	t.Logf("%d jobs stored (%d backlog, %d accepted by the API, %d enqueued after the failover, %d more; %d enqueues refused %v, %d without response) in %d runs",
		len(rows), backlog, len(feed.accepted), notified, len(rows)-accepted, sum(feed.refused), feed.refused, feed.lost,
		len(execs))

	checkOutageLogs(t, n, []time.Time{failedAt}, []string{"failover"})
}

// checkNotifiedPickups enqueues count jobs, one at a time, from a store of
// this process (another process, for the worker of n), and fails t unless
// the worker starts each within notifiedPickup: on the notification its
// listener receives, well before its next poll.
func checkNotifiedPickups(t *testing.T, b backend, n *node, count int) {
	t.Helper()
	store := newStore(t, b, jobs.DefaultConfig(), nil)
	for i := range count {
		job, err := store.Enqueue("work", map[string]int{"notified": i})
		if err != nil {
			t.Fatalf("enqueue from another process: %v", err)
		}
		enqueued := time.Now()
		var started time.Time
		waitFor(t, 2*failoverPoll, fmt.Sprintf("job %s enqueued by another process to run", job.ID),
			func() (bool, error) {
				execs, err := readExecLog(n.execLog)
				for _, e := range execs {
					if e.jobID == job.ID {
						started = e.started
						return true, err
					}
				}
				return false, err
			})
		if wait := started.Sub(enqueued); wait > notifiedPickup {
			t.Errorf("job %s enqueued by another process started %s after its enqueue, want within %s: the worker's listener did not reconnect",
				job.ID, wait.Round(time.Millisecond), notifiedPickup)
		}
	}
}
