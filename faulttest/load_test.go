//go:build unix

package faulttest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
)

// Shape of the load.
const (
	loadFor       = 10 * time.Second
	loadEnqueuers = 50 // clients of POST /api/jobs/enqueue
	loadRecorders = 10 // clients of the record API
)

// lockedMarkers are the texts of SQLite's "busy" error as the driver and
// PocketBase print them.
var lockedMarkers = []string{"SQLITE_BUSY", "database is locked"}

// TestLoadSQLite floods a worker on SQLite for 10 s with 50 concurrent
// enqueue clients and 10 clients of PocketBase's record API, while its
// workers run the jobs. Every request gets a 2xx (so no 5xx), no SQLITE_BUSY or
// "database is locked" appears in the process's output or in PocketBase's
// logs, every job completes, and the record API's p99 latency is reported.
func TestLoadSQLite(t *testing.T) {
	if testing.Short() {
		t.Skipf("the load test takes about %s; skipped with -short", loadFor+10*time.Second)
	}
	bin := buildWorker(t)
	n := newNode(t, bin, sqliteBackend(), "PB_JOBS_POLL_INTERVAL=100ms")
	n.createSuperuser(superuserEmail, superuserPassword)
	p := n.start()

	ctx := context.Background()
	admin := superuserClient(t, n, loadEnqueuers+1)
	createNotes(t, admin)
	visitor := newClient(n.url(""), loadRecorders) // the record API needs no auth

	loadCtx, stop := context.WithTimeout(ctx, loadFor)
	defer stop()
	var enqueued, records tally
	var wg sync.WaitGroup
	for i := range loadEnqueuers {
		wg.Go(func() { enqueued.merge(enqueueLoop(loadCtx, admin, i)) })
	}
	for range loadRecorders {
		wg.Go(func() { records.merge(recordLoop(loadCtx, visitor)) })
	}
	wg.Wait()
	visitor.close()

	loadEnded := time.Now()
	waitFor(t, time.Minute, "every enqueued job to complete", func() (bool, error) {
		var stats struct{ Pending, Processing, Completed int }
		status, err := admin.do(ctx, http.MethodGet, "/api/jobs/stats", nil, &stats)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("stats: status %d", status)
		}
		return stats.Pending+stats.Processing == 0 && stats.Completed >= enqueued.ok, err
	})
	drain := time.Since(loadEnded)
	admin.close()
	p.terminate() // flushes PocketBase's log buffer

	for name, r := range map[string]*tally{"enqueue": &enqueued, "record API": &records} {
		if r.failed > 0 || r.ok != r.responses() || r.ok == 0 {
			t.Errorf("%s: %d ok, %d without a response (first: %v), statuses %v",
				name, r.ok, r.failed, r.firstErr, r.statuses)
		}
	}
	checkNoLockErrorsInOutput(t, n)
	checkLogs(t, n)
	t.Logf("sqlite: %s with %d enqueue and %d record API clients: %d jobs enqueued (%.0f/s, p99 %s), "+
		"%d record API requests (%.0f/s), record API p50 %s, p99 %s; the last job done %s after the load",
		loadFor, loadEnqueuers, loadRecorders,
		enqueued.ok, float64(enqueued.ok)/loadFor.Seconds(), enqueued.quantile(0.99),
		records.ok, float64(records.ok)/loadFor.Seconds(), records.quantile(0.50), records.quantile(0.99),
		drain.Round(time.Millisecond))
}

// createNotes creates the "notes" collection that anyone may list, view and
// add to.
func createNotes(t *testing.T, admin *client) {
	t.Helper()
	public := ""
	body := map[string]any{
		"name": "notes",
		"type": "base",
		"fields": []map[string]any{
			{"name": "title", "type": "text"},
			{"name": "created", "type": "autodate", "onCreate": true},
		},
		"listRule":   &public,
		"viewRule":   &public,
		"createRule": &public,
	}
	status, err := admin.do(context.Background(), http.MethodPost, "/api/collections", body, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("create the notes collection: status %d, %v", status, err)
	}
}

// enqueueLoop enqueues jobs until ctx ends.
func enqueueLoop(ctx context.Context, c *client, worker int) *tally {
	r := newTally()
	for i := 0; ctx.Err() == nil; i++ {
		start := time.Now()
		// The request itself is not cut short at the end of the load.
		_, status, err := c.enqueue(context.Background(), map[string]any{
			"topic":   "work",
			"payload": map[string]int{"client": worker, "n": i},
		})
		r.observe(status, err, time.Since(start))
	}
	return r
}

// recordLoop creates a note and reads it back, and every tenth round lists
// the newest notes, until ctx ends.
func recordLoop(ctx context.Context, c *client) *tally {
	r := newTally()
	for i := 0; ctx.Err() == nil; i++ {
		var note struct {
			ID string `json:"id"`
		}
		start := time.Now()
		status, err := c.do(context.Background(), http.MethodPost, "/api/collections/notes/records",
			map[string]string{"title": fmt.Sprintf("note %d", i)}, &note)
		r.observe(status, err, time.Since(start))
		if note.ID != "" {
			start = time.Now()
			status, err = c.do(context.Background(), http.MethodGet, "/api/collections/notes/records/"+note.ID, nil, nil)
			r.observe(status, err, time.Since(start))
		}
		if i%10 == 0 {
			start = time.Now()
			status, err = c.do(context.Background(), http.MethodGet,
				"/api/collections/notes/records?perPage=20&sort=-created&skipTotal=1", nil, nil)
			r.observe(status, err, time.Since(start))
		}
	}
	return r
}

// checkNoLockErrorsInOutput fails t if the worker ever printed SQLite's busy
// error.
func checkNoLockErrorsInOutput(t *testing.T, n *node) {
	t.Helper()
	out, err := os.ReadFile(n.output)
	if err != nil {
		t.Fatalf("read the worker output: %v", err)
	}
	for _, marker := range lockedMarkers {
		if strings.Contains(string(out), marker) {
			t.Errorf("the worker printed %q", marker)
		}
	}
}

// checkLogs reads PocketBase's logs (pb_data/auxiliary.db) and fails t if
// any mentions SQLite's busy error, records a 5xx response, or is an error.
func checkLogs(t *testing.T, n *node) {
	t.Helper()
	db, err := dbx.Open("sqlite", "file:"+filepath.Join(n.dir, "auxiliary.db")+"?mode=ro")
	if err != nil {
		t.Fatalf("open the logs: %v", err)
	}
	defer db.Close()
	var total, locked, serverErrors, errorsLogged int
	checks := []struct {
		dst   *int
		query string
	}{
		{&total, `SELECT COUNT(*) FROM _logs`},
		{&locked, `SELECT COUNT(*) FROM _logs WHERE ` + likeAny([]string{"message", "data"}, lockedMarkers)},
		{&serverErrors, `SELECT COUNT(*) FROM _logs WHERE CAST(json_extract(data, '$.status') AS INTEGER) >= 500`},
		{&errorsLogged, `SELECT COUNT(*) FROM _logs WHERE level >= 8`}, // slog.LevelError
	}
	for _, c := range checks {
		if err := db.NewQuery(c.query).Row(c.dst); err != nil {
			t.Fatalf("query the logs (%s): %v", c.query, err)
		}
	}
	if total == 0 {
		t.Fatalf("PocketBase logged nothing: the log check would prove nothing")
	}
	if locked+serverErrors+errorsLogged > 0 {
		var samples []string
		err := db.NewQuery(`SELECT DISTINCT message || ' ' || data FROM _logs
			WHERE level >= 8 OR CAST(json_extract(data, '$.status') AS INTEGER) >= 500 OR ` +
			likeAny([]string{"message", "data"}, lockedMarkers) + ` LIMIT 5`).Column(&samples)
		if err != nil {
			t.Fatalf("query the logs: %v", err)
		}
		t.Errorf("of %d log entries, %d mention a locked database, %d are 5xx responses, %d are errors; e.g.:\n%s",
			total, locked, serverErrors, errorsLogged, strings.Join(samples, "\n"))
	}
}

// likeAny returns an SQL condition that holds when any column contains any
// of the markers (constants of this file: no quoting needed).
func likeAny(columns, markers []string) string {
	var terms []string
	for _, c := range columns {
		for _, m := range markers {
			terms = append(terms, fmt.Sprintf("%s LIKE '%%%s%%'", c, m))
		}
	}
	return "(" + strings.Join(terms, " OR ") + ")"
}

// tally counts the responses of one load client, or of all once merged.
type tally struct {
	mu        sync.Mutex
	ok        int
	failed    int // requests without a response
	firstErr  error
	statuses  map[int]int
	latencies []time.Duration
}

func newTally() *tally { return &tally{statuses: make(map[int]int)} }

// observe counts one request.
func (r *tally) observe(status int, err error, took time.Duration) {
	if err != nil {
		r.failed++
		if r.firstErr == nil {
			r.firstErr = err
		}
		return
	}
	r.statuses[status]++
	if status/100 == 2 {
		r.ok++
	}
	r.latencies = append(r.latencies, took)
}

// merge adds o's counts to r; safe for concurrent use on r.
func (r *tally) merge(o *tally) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.statuses == nil {
		r.statuses = make(map[int]int)
	}
	r.ok += o.ok
	r.failed += o.failed
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
	for s, k := range o.statuses {
		r.statuses[s] += k
	}
	r.latencies = append(r.latencies, o.latencies...)
}

// responses counts the requests that got a response.
func (r *tally) responses() int {
	n := 0
	for _, k := range r.statuses {
		n += k
	}
	return n
}

// quantile returns the q-quantile of the latencies (nearest rank).
func (r *tally) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	sorted := slices.Clone(r.latencies)
	slices.Sort(sorted)
	rank := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(rank, len(sorted)-1))].Round(100 * time.Microsecond)
}
