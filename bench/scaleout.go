package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pocketbase-jobs/jobs"
)

// scaleParams sizes the scale-out measurement.
type scaleParams struct {
	// counts are the numbers of worker processes to measure, in order.
	counts []int
	// jobs is the backlog the workers work, enqueued before they start.
	jobs int
	// pickups is how many single enqueues time the pickup, once the backlog
	// is done.
	pickups int
	// limit bounds the wait for the backlog, and then for the pickups.
	limit time.Duration
}

// Application names of the scale-out connections, by which the observer
// tells the workers' connections from the others.
const (
	appWorker   = "pbjobs_bench_worker"
	appEnqueuer = "pbjobs_bench_enqueuer"
	appObserver = "pbjobs_bench_observer"
)

// errDuplicates marks a scale-out run in which a job ran more than once.
var errDuplicates = errors.New("DUPLICATES: a job ran more than once")

// scaleOutcome is what one scale-out measurement found.
type scaleOutcome struct {
	processes int
	// jobsPerSec is the backlog over the time from the first handler start
	// to the last handler return, across all processes.
	jobsPerSec float64
	// p50 and p99 are the pickup latencies: from the start of an enqueue
	// call to the start of its handler.
	p50, p99 time.Duration
	// workerConns and dbConns are the peaks of the workers' connections and
	// of all connections to the database but the observer's.
	workerConns, dbConns int
	// claims counts the claim statements that took the backlog's jobs.
	claims int
	// minShare and maxShare are the fewest and most backlog jobs one
	// process ran.
	minShare, maxShare int
	// duplicates counts handler calls beyond the first of a job.
	duplicates int
	// backlogSeconds is the time over which jobsPerSec is measured.
	backlogSeconds float64
	// backlogNotes and pickupNotes are what one listening process received
	// while the backlog was worked, and while the pickups were.
	backlogNotes, pickupNotes notificationCounts
}

// parseCounts reads the value of the flag name: comma-separated positive
// counts (of processes, of clients).
func parseCounts(name, s string) ([]int, error) {
	var counts []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-%s: %q is not a positive number", name, f)
		}
		counts = append(counts, n)
	}
	return counts, nil
}

// runScaleOut measures every process count of sp in each of runs and prints
// the report to stdout; progress goes to stderr.
func runScaleOut(ctx context.Context, runs int, sp scaleParams) error {
	if runs < 1 || sp.jobs < batchSize {
		return fmt.Errorf("need -runs ≥ 1 and -scaleout-jobs ≥ %d", batchSize)
	}
	e, err := newEnv(ctx, true)
	if err != nil {
		return err
	}
	defer e.closeWarning()
	began := time.Now()
	var outcomes [][]*scaleOutcome // per run, per count
	for r := 1; r <= runs; r++ {
		var row []*scaleOutcome
		for _, n := range sp.counts {
			fmt.Fprintf(os.Stderr, "run %d/%d  scale-out, %d process(es) × %d workers, %d jobs  ", r, runs, n, workers, sp.jobs)
			begin := time.Now()
			o, err := measureScaleOut(ctx, e, n, sp)
			if err != nil {
				fmt.Fprintln(os.Stderr, "error")
				return fmt.Errorf("scale-out with %d processes: %w", n, err)
			}
			fmt.Fprintf(os.Stderr, "%.0f jobs/s, pickup p50 %.2f ms  (%s)\n", o.jobsPerSec, ms(o.p50), time.Since(begin).Round(10*time.Millisecond))
			row = append(row, o)
		}
		outcomes = append(outcomes, row)
	}
	fmt.Fprintf(os.Stderr, "done in %s\n", time.Since(began).Round(time.Second))
	reportScaleOut(os.Stdout, e, sp, outcomes)
	return nil
}

// measureScaleOut enqueues sp.jobs jobs into a fresh database, starts
// `processes` worker processes on it and lets them work the backlog; then,
// with the workers idle, enqueues sp.pickups jobs one at a time, 5–20 ms
// apart, without waiting for each to start. The connections to the
// database are sampled throughout.
func measureScaleOut(ctx context.Context, e *env, processes int, sp scaleParams) (*scaleOutcome, error) {
	t, cleanup, err := e.fresh(ctx, dbPostgres)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	dsn := func(app string) (string, error) { return withApplicationName(t.dsn, app) }
	enqueuerDSN, err := dsn(appEnqueuer)
	if err != nil {
		return nil, err
	}
	q, err := openOurs(ctx, target{dir: t.dir, dsn: enqueuerDSN})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := q.close(); err != nil {
			fmt.Fprintln(os.Stderr, "warning: close the enqueuing app:", err)
		}
	}()
	if err := fill(ctx, q, sp.jobs); err != nil {
		return nil, err
	}

	workerDSN, err := dsn(appWorker)
	if err != nil {
		return nil, err
	}
	var procs []*workerProcess
	defer func() {
		for _, w := range procs {
			w.kill()
		}
	}()
	for i := range processes {
		w, err := startWorker(ctx, filepath.Join(t.dir, fmt.Sprintf("worker-%d", i+1)), workerDSN)
		if err != nil {
			return nil, err
		}
		procs = append(procs, w)
	}

	observerDSN, err := dsn(appObserver)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, observerDSN)
	if err != nil {
		return nil, fmt.Errorf("connect the observer: %w", err)
	}
	defer conn.Close(context.Background())
	watch, err := watchConnections(ctx, observerDSN)
	if err != nil {
		return nil, err
	}
	defer watch.stop()
	notes, err := watchNotifications(ctx, observerDSN)
	if err != nil {
		return nil, err
	}
	defer notes.stop()

	for _, w := range procs {
		if err := w.begin(); err != nil {
			return nil, fmt.Errorf("start a worker: %w", err)
		}
	}
	if err := waitCompleted(ctx, conn, sp.jobs, sp.limit); err != nil {
		return nil, fmt.Errorf("the backlog: %w", err)
	}
	afterBacklog := notes.snapshot()
	sent, err := streamPickups(ctx, q.(*oursQueue).store, sp.pickups)
	if err != nil {
		return nil, err
	}
	if err := waitCompleted(ctx, conn, sp.jobs+sp.pickups, sp.limit); err != nil {
		return nil, fmt.Errorf("the pickups: %w", err)
	}
	peaks := watch.stop()
	afterPickups := notes.stop()

	perWorker := make([][]runRecord, len(procs))
	for i, w := range procs {
		runs, err := w.finish()
		if err != nil {
			return nil, err
		}
		perWorker[i] = runs
	}
	procs = nil

	o, err := analyseScaleOut(processes, sp.jobs, perWorker, sent)
	if err != nil {
		return nil, err
	}
	o.workerConns, o.dbConns = peaks.workers, peaks.all
	o.backlogNotes, o.pickupNotes = afterBacklog, afterPickups.minus(afterBacklog)
	// A claim gives every job it takes one fence, lock_version: the time of
	// the claim in microseconds, so the distinct fences count the claims.
	err = conn.QueryRow(ctx, `SELECT count(DISTINCT lock_version) FROM _jobs WHERE NOT (id = ANY($1))`,
		slices.Collect(maps.Keys(sent))).Scan(&o.claims)
	if err != nil {
		return nil, fmt.Errorf("count the claims: %w", err)
	}
	return o, nil
}

// withApplicationName returns dsn (a URL or keyword/value DSN) with the
// connections' application_name set to name.
func withApplicationName(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse the PostgreSQL URL: %w", err)
		}
		query := u.Query()
		query.Set("application_name", name)
		u.RawQuery = query.Encode()
		return u.String(), nil
	}
	return dsn + " application_name=" + name, nil
}

// waitCompleted polls the database until `want` jobs are completed, for at
// most limit.
func waitCompleted(ctx context.Context, conn *pgx.Conn, want int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var done int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM _jobs WHERE status = 'completed'`).Scan(&done); err != nil {
			return fmt.Errorf("count the completed jobs: %w", err)
		}
		if done >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d jobs completed within %s", done, want, limit)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// streamPickups enqueues n jobs one at a time, 5–20 ms apart (varied, so
// that no poll loop stays in phase), and returns when each enqueue call
// started, in Unix nanoseconds, by job id.
func streamPickups(ctx context.Context, store *jobs.JobStore, n int) (map[string]int64, error) {
	sent := make(map[string]int64, n)
	for i := range n {
		if err := sleep(ctx, time.Duration(5+i*7%16)*time.Millisecond); err != nil {
			return nil, err
		}
		t0 := time.Now().UnixNano()
		j, err := store.Enqueue(topic, noopArgs{N: 1})
		if err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
		sent[j.ID] = t0
	}
	return sent, nil
}

// analyseScaleOut reads the handler calls of every worker: the backlog's
// throughput and spread over the processes, the pickups' latencies, and the
// jobs that ran more than once, which fail the measurement.
func analyseScaleOut(processes, backlog int, perWorker [][]runRecord, sent map[string]int64) (*scaleOutcome, error) {
	o := &scaleOutcome{processes: processes, minShare: math.MaxInt}
	calls := make(map[string]int, backlog+len(sent))
	var (
		first, last int64 = math.MaxInt64, math.MinInt64
		latencies   []time.Duration
	)
	for _, runs := range perWorker {
		share := 0
		for _, r := range runs {
			calls[r.id]++
			if t0, ok := sent[r.id]; ok {
				latencies = append(latencies, time.Duration(r.start-t0))
				continue
			}
			share++
			first, last = min(first, r.start), max(last, r.end)
		}
		o.minShare, o.maxShare = min(o.minShare, share), max(o.maxShare, share)
	}
	var repeated []string
	for id, n := range calls {
		if n > 1 {
			o.duplicates += n - 1
			repeated = append(repeated, fmt.Sprintf("%s ×%d", id, n))
		}
	}
	if o.duplicates > 0 {
		slices.Sort(repeated)
		return nil, fmt.Errorf("%w: %d extra handler calls with %d processes, of jobs %s",
			errDuplicates, o.duplicates, processes, strings.Join(repeated[:min(len(repeated), 10)], ", "))
	}
	if len(calls) != backlog+len(sent) {
		return nil, fmt.Errorf("%d distinct jobs ran, %d were enqueued", len(calls), backlog+len(sent))
	}
	o.backlogSeconds = time.Duration(last - first).Seconds()
	o.jobsPerSec = float64(backlog) / o.backlogSeconds
	o.p50, o.p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
	return o, nil
}
