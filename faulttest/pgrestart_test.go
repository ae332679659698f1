//go:build unix

package faulttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/pgtest"
	"github.com/pocketbase/dbx"
)

// maxOutageLogsPerRestart bounds what the worker may log about one restart
// of its database: its outage and its recovery, once per component that
// notices (dispatcher, notification listener, ...), not once per poll.
const maxOutageLogsPerRestart = 4

// outageMarkers are fragments of what the worker prints when it cannot
// reach its database; lines of its output holding one are counted.
var outageMarkers = []string{"jobs:", "unavailable", "connect", "SQLSTATE", "shutting down"}

// TestPostgresRestart restarts the PostgreSQL server of a worker twice (a
// fast, then an immediate shutdown) while jobs stream in through the HTTP
// API and a backlog is being worked off. The worker stays up, logs each
// outage a few times at most rather than once per poll, reconnects, and
// every job it accepted completes.
//
// The server is the test's own (pgtest.StartRestartable): restarting the
// shared cluster would disturb every other test.
func TestPostgresRestart(t *testing.T) {
	const (
		backlog = 1000
		workers = 4
		// progress is how many runs the worker records before each
		// restart and after the last one, so that each restart hits a
		// busy worker and the worker is seen to keep working.
		progress = 300
	)
	srv := pgtest.StartRestartable(t)
	dsn := srv.DSN()
	requirePostgresStore(t, dsn)
	b := backend{
		name: "postgres",
		env:  []string{"PB_JOBS_POSTGRES_DSN=" + dsn},
		open: func(string) (*dbx.DB, error) { return dbx.Open("pgx", dsn) },
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postgres log (end):\n%s", srv.LogTail())
		}
	})

	bin := buildWorker(t)
	n := newNode(t, bin, b,
		fmt.Sprintf("PB_JOBS_WORKERS=%d", workers),
		"PB_JOBS_POLL_INTERVAL=100ms",
		"PB_JOBS_LOCK_DURATION=3s", // claims whose outcome was lost run again soon
		"FAULT_SLEEP=2ms",
	)
	n.createSuperuser(superuserEmail, superuserPassword)
	p := n.start(fmt.Sprintf("FAULT_ENQUEUE=%d", backlog))

	c := superuserClient(t, n, 4)
	feed := startProducer(c, 10*time.Millisecond, map[string]any{"topic": "work"})
	defer feed.stop()

	runs := func() int {
		r, err := readExecLog(n.execLog)
		if err != nil {
			t.Fatal(err)
		}
		return len(r)
	}
	alive := func() {
		t.Helper()
		select {
		case <-p.done:
			t.Fatalf("the worker ended while its database restarted: %v", p.err)
		default:
		}
	}

	modes := []string{"fast", "immediate"}
	restartedAt := make([]time.Time, len(modes))
	for i, mode := range modes {
		mark := runs() + progress
		waitFor(t, 20*time.Second, fmt.Sprintf("%d recorded runs", mark), func() (bool, error) {
			return runs() >= mark, nil
		})
		restartedAt[i] = time.Now()
		down := srv.Restart(mode)
		ready := time.Now()
		alive()
		// At most one claim per worker may still start its handler; a run
		// beyond those proves a claim made after the restart.
		resume := runs() + workers + 1
		waitFor(t, 20*time.Second, fmt.Sprintf("the worker to run jobs again after the %s restart", mode),
			func() (bool, error) {
				alive()
				return runs() >= resume, nil
			})
		t.Logf("%s restart: server down for %s; the worker claimed jobs again %s after it was ready",
			mode, down.Round(time.Millisecond), time.Since(ready).Round(time.Millisecond))
	}
	final := runs() + progress
	waitFor(t, 20*time.Second, fmt.Sprintf("%d recorded runs", final), func() (bool, error) {
		alive()
		return runs() >= final, nil
	})

	feed.stop()
	alive()
	// Each accepted job must be stored; an enqueue answered with an error
	// during an outage, or cut off by stopping the producer, may have
	// committed all the same, so the table may hold a few more.
	accepted := backlog + len(feed.accepted)
	unknown := sum(feed.refused) + feed.lost + 1
	table := openJobTable(t, b, n.dir) // opened now: its connections predate no restart
	start := time.Now()
	waitFor(t, 20*time.Second, "every job to complete", func() (bool, error) { return table.allCompleted(accepted) })
	drain := time.Since(start)
	p.terminate() // also writes PocketBase's pending logs

	rows, err := table.all()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) > accepted+unknown {
		t.Errorf("the table holds %d jobs, but only %d were enqueued and %d more may have been",
			len(rows), accepted, unknown)
	}
	execs, err := readExecLog(n.execLog)
	if err != nil {
		t.Fatal(err)
	}
	checkEveryJobRan(t, rows, runsPerJob(execs, "work"), len(rows))
	checkAccepted(t, table, feed.accepted)
	t.Logf("%d jobs stored (%d backlog, %d accepted by the API, %d more; %d enqueues refused %v, %d without response) in %d runs; the rest done %s after the producer stopped",
		len(rows), backlog, len(feed.accepted), len(rows)-accepted, sum(feed.refused), feed.refused, feed.lost,
		len(execs), drain.Round(time.Millisecond))

	checkOutageLogs(t, n, restartedAt, modes)
}

// logTimeSlack absorbs the millisecond truncation of PocketBase's log times.
const logTimeSlack = 2 * time.Millisecond

// checkOutageLogs counts the warnings and errors the worker logged (in
// pb_data/auxiliary.db, where PocketBase keeps its logs; request logs left
// out) after each restart, and the lines of its output that mention the
// outage, and fails t when either exceeds maxOutageLogsPerRestart per
// restart.
func checkOutageLogs(t *testing.T, n *node, restartedAt []time.Time, modes []string) {
	t.Helper()
	db, err := dbx.Open("sqlite", "file:"+filepath.Join(n.dir, "auxiliary.db")+"?mode=ro")
	if err != nil {
		t.Fatalf("open the logs: %v", err)
	}
	defer db.Close()
	var entries []struct {
		Created string `db:"created"`
		Level   int    `db:"level"`
		Message string `db:"message"`
		Error   string `db:"error"`
	}
	err = db.NewQuery(`SELECT created, level, message,
			COALESCE(json_extract(data, '$.error'), '') AS error FROM _logs
		WHERE level >= 4 AND COALESCE(json_extract(data, '$.type'), '') != 'request'
		ORDER BY created`).All(&entries) // 4: slog.LevelWarn
	if err != nil {
		t.Fatalf("query the logs: %v", err)
	}
	perRestart := make([][]string, len(restartedAt))
	for _, e := range entries {
		at, err := time.Parse("2006-01-02 15:04:05.000Z", e.Created)
		if err != nil {
			t.Fatalf("log entry time %q: %v", e.Created, err)
		}
		// Log times are stored to the millisecond: compare at that
		// resolution, with a little slack for the truncation.
		i := len(restartedAt) - 1
		for i >= 0 && at.Before(restartedAt[i].Truncate(time.Millisecond).Add(-logTimeSlack)) {
			i--
		}
		line := fmt.Sprintf("%s [%d] %s", e.Created[11:], e.Level, e.Message)
		if e.Error != "" {
			line += ": " + e.Error
		}
		if i < 0 {
			t.Errorf("logged before any restart: %s", line)
			continue
		}
		perRestart[i] = append(perRestart[i], line)
	}
	for i, lines := range perRestart {
		t.Logf("%s restart: %d warnings or errors logged:\n\t%s", modes[i], len(lines), strings.Join(lines, "\n\t"))
		if len(lines) > maxOutageLogsPerRestart {
			t.Errorf("%s restart: the worker logged %d warnings or errors, want at most %d",
				modes[i], len(lines), maxOutageLogsPerRestart)
		}
	}

	out, err := os.ReadFile(n.output)
	if err != nil {
		t.Fatalf("read the worker output: %v", err)
	}
	printed := 0
	for line := range strings.SplitSeq(string(out), "\n") {
		for _, m := range outageMarkers {
			if strings.Contains(line, m) {
				printed++
				break
			}
		}
	}
	t.Logf("%d lines of the worker's output mention the outages", printed)
	if limit := maxOutageLogsPerRestart * len(restartedAt); printed > limit {
		t.Errorf("the worker printed %d lines about its outages, want at most %d", printed, limit)
	}
}

// sum adds the counts of m.
func sum(m map[int]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}
