package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// workload is one kind of measurement; each runs on fresh databases.
type workload int

const (
	wEnqueue   workload = iota // (a) one job per call
	wBatch                     // (b) batches of 1,000
	wWork                      // (c) work pre-enqueued jobs
	wPickup                    // (d) idle pickup latency
	wClaimCost                 // (e) claim cost with a backlog of completed or foreign jobs
	wRSS                       // (f) peak RSS while holding pending jobs
	numWorkloads
)

func (w workload) String() string {
	return [...]string{"enqueue", "batch enqueue", "work", "idle pickup", "claim cost", "peak RSS"}[w]
}

// letter is the workload's letter in the report, as -workloads names it.
func (w workload) letter() string { return string(rune('a' + w)) }

// metric is one row of the table.
type metric int

const (
	mEnqueue metric = iota
	mBatch
	mWork
	mP50
	mP95
	mP99
	mClaimEmpty
	mClaimBig
	mClaimRatio
	mClaimForeign
	mClaimForeignRatio
	mRSSSmall
	mRSSBig
	mRSSRatio
	numMetrics
)

// batchSize is the size of every batch enqueue.
const batchSize = 1000

// params sizes the workloads.
type params struct {
	// singles is how many jobs (a) enqueues one at a time.
	singles int
	// n is how many jobs (b) enqueues and (c) works.
	n int
	// pickups is how many jobs (d) times.
	pickups int
	// claimJobs is how many jobs (e) works.
	claimJobs int
	// big is (e)'s count of completed jobs and of foreign jobs, and (f)'s
	// larger count of pending jobs; small is (f)'s smaller count.
	big, small int
	// limit bounds one timed loop: a system too slow to finish within it is
	// measured on what it did by then, and the cell is marked.
	limit time.Duration
	// pickupLimit bounds (d) the same way.
	pickupLimit time.Duration
	// hold is how long an RSS child holds its jobs before it reads its peak.
	hold time.Duration
}

// outcome is what one measurement found.
type outcome struct {
	values map[metric]float64
	// notes says where a figure rests on less than the full workload.
	notes []string
}

func newOutcome() *outcome { return &outcome{values: make(map[metric]float64)} }

func (o *outcome) notef(format string, args ...any) {
	o.notes = append(o.notes, fmt.Sprintf(format, args...))
}

// handle is a system opened on a fresh target.
type handle struct {
	queue
	target  target
	key     string
	closed  bool
	cleanup func()
}

// opened opens sys on a fresh target.
func opened(ctx context.Context, e *env, sys system) (*handle, error) {
	t, cleanup, err := e.fresh(ctx, sys.db)
	if err != nil {
		return nil, err
	}
	q, err := sys.open(ctx, t)
	if err != nil {
		cleanup()
		return nil, err
	}
	return &handle{queue: q, target: t, key: sys.key(), cleanup: cleanup}, nil
}

// closeQueue closes the queue once.
func (h *handle) closeQueue() error {
	if h.closed {
		return nil
	}
	h.closed = true
	return h.queue.close()
}

// release closes the queue and removes the target.
func (h *handle) release() {
	if err := h.closeQueue(); err != nil {
		fmt.Fprintf(os.Stderr, "warning: close %s: %v\n", h.key, err)
	}
	h.cleanup()
}

// fill enqueues n jobs in batches of batchSize.
func fill(ctx context.Context, q queue, n int) error {
	for done := 0; done < n; done += batchSize {
		if err := q.enqueueBatch(ctx, min(batchSize, n-done)); err != nil {
			return fmt.Errorf("enqueue batch: %w", err)
		}
	}
	return nil
}

// measureEnqueue times p.singles enqueues of one job each (a).
func measureEnqueue(ctx context.Context, e *env, sys system, p params) (*outcome, error) {
	q, err := opened(ctx, e, sys)
	if err != nil {
		return nil, err
	}
	defer q.release()
	o := newOutcome()
	begin := time.Now()
	n := 0
	for ; n < p.singles && (n == 0 || time.Since(begin) < p.limit); n++ {
		if err := q.enqueue(ctx); err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
	}
	o.values[mEnqueue] = float64(n) / time.Since(begin).Seconds()
	if n < p.singles {
		o.notef("enqueue 1 per call: %d of %d jobs within %s", n, p.singles, p.limit)
	}
	return o, nil
}

// measureBatch times p.n jobs enqueued in batches of batchSize (b).
func measureBatch(ctx context.Context, e *env, sys system, p params) (*outcome, error) {
	q, err := opened(ctx, e, sys)
	if err != nil {
		return nil, err
	}
	defer q.release()
	o := newOutcome()
	begin := time.Now()
	n := 0
	for n < p.n && (n == 0 || time.Since(begin) < p.limit) {
		size := min(batchSize, p.n-n)
		if err := q.enqueueBatch(ctx, size); err != nil {
			return nil, fmt.Errorf("enqueue batch: %w", err)
		}
		n += size
	}
	o.values[mBatch] = float64(n) / time.Since(begin).Seconds()
	if n < p.n {
		o.notef("batch enqueue: %d of %d jobs within %s", n, p.n, p.limit)
	}
	return o, nil
}

// workTimed starts q on `jobs` pre-enqueued jobs and returns how many ran
// and the time from start until the last one started, or until limit.
// With profile set, it writes a CPU profile of that time there.
func workTimed(ctx context.Context, q queue, jobs int, limit time.Duration, profile string) (int64, time.Duration, error) {
	var ran atomic.Int64
	all := make(chan struct{})
	run := func() {
		if ran.Add(1) == int64(jobs) {
			close(all)
		}
	}
	stopProfile, err := startCPUProfile(profile)
	if err != nil {
		return 0, 0, err
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	begin := time.Now()
	if err := q.start(ctx, run); err != nil {
		_ = stopProfile()
		return 0, 0, err
	}
	select {
	case <-all:
	case <-timer.C:
	case <-ctx.Done():
	}
	elapsed := time.Since(begin)
	if err := stopProfile(); err != nil {
		return 0, 0, err
	}
	n := min(ran.Load(), int64(jobs))
	if err := q.stop(ctx); err != nil {
		return 0, 0, fmt.Errorf("stop: %w", err)
	}
	return n, elapsed, ctx.Err()
}

// measureWork works p.n pre-enqueued no-op jobs (c).
func measureWork(ctx context.Context, e *env, sys system, p params, profile string) (*outcome, error) {
	q, err := opened(ctx, e, sys)
	if err != nil {
		return nil, err
	}
	defer q.release()
	if err := fill(ctx, q, p.n); err != nil {
		return nil, err
	}
	n, elapsed, err := workTimed(ctx, q, p.n, p.limit, profile)
	if err != nil {
		return nil, err
	}
	o := newOutcome()
	o.values[mWork] = float64(n) / elapsed.Seconds()
	if n < int64(p.n) {
		o.notef("work: %d of %d jobs within %s", n, p.n, p.limit)
	}
	return o, nil
}

// pickupTimeout is the longest wait for one job in (d) before the
// measurement fails.
const pickupTimeout = 30 * time.Second

// measurePickup enqueues p.pickups jobs one at a time into an idle queue and
// times each from the start of the enqueue call to the start of its
// handler (d).
func measurePickup(ctx context.Context, e *env, sys system, p params) (*outcome, error) {
	q, err := opened(ctx, e, sys)
	if err != nil {
		return nil, err
	}
	defer q.release()
	started := make(chan time.Time, 1)
	run := func() {
		select {
		case started <- time.Now():
		default:
		}
	}
	if err := q.start(ctx, run); err != nil {
		return nil, err
	}
	defer q.stop(ctx)
	wait := func() (time.Time, error) {
		timer := time.NewTimer(pickupTimeout)
		defer timer.Stop()
		select {
		case t := <-started:
			return t, nil
		case <-timer.C:
			return time.Time{}, fmt.Errorf("a job was not picked up within %s", pickupTimeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
	// One job first, so that the system is fully up; then let it go idle.
	if err := q.enqueue(ctx); err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	if _, err := wait(); err != nil {
		return nil, err
	}
	latencies := make([]time.Duration, 0, p.pickups)
	begin := time.Now()
	for i := 0; i < p.pickups && (i == 0 || time.Since(begin) < p.pickupLimit); i++ {
		// 5–20 ms of idleness, varied so that no poll loop stays in phase.
		if err := sleep(ctx, time.Duration(5+i*7%16)*time.Millisecond); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := q.enqueue(ctx); err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
		t, err := wait()
		if err != nil {
			return nil, err
		}
		latencies = append(latencies, t.Sub(t0))
	}
	o := newOutcome()
	o.values[mP50] = ms(percentile(latencies, 0.50))
	o.values[mP95] = ms(percentile(latencies, 0.95))
	o.values[mP99] = ms(percentile(latencies, 0.99))
	if len(latencies) < p.pickups {
		o.notef("idle pickup: %d of %d jobs within %s", len(latencies), p.pickups, p.pickupLimit)
	}
	return o, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// percentile returns the nearest-rank q-quantile of ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// backlog is what waits in the table while (e) works its jobs.
type backlog int

const (
	noBacklog        backlog = iota
	completedBacklog         // p.big completed jobs
	foreignBacklog           // p.big runnable jobs of a topic no handler takes
)

// describe names b at the sizes of p.
func (b backlog) describe(p params) string {
	switch b {
	case completedBacklog:
		return thousands(p.big) + " completed jobs"
	case foreignBacklog:
		return thousands(p.big) + " runnable foreign jobs"
	default:
		return "no jobs"
	}
}

// claimCostMetric is the metric of (e) with each backlog.
var claimCostMetric = [...]metric{noBacklog: mClaimEmpty, completedBacklog: mClaimBig, foreignBacklog: mClaimForeign}

// measureClaimCost times working p.claimJobs jobs on a table that holds the
// backlog b (e). The backlog is stored first, so a foreign backlog is due
// before every job to work.
func measureClaimCost(ctx context.Context, e *env, sys system, p params, b backlog) (*outcome, error) {
	q, err := opened(ctx, e, sys)
	if err != nil {
		return nil, err
	}
	defer q.release()
	switch b {
	case completedBacklog:
		if err := fill(ctx, q, p.big); err != nil {
			return nil, err
		}
		if err := q.completeAll(ctx); err != nil {
			return nil, fmt.Errorf("complete the history: %w", err)
		}
	case foreignBacklog:
		fq, ok := q.queue.(foreignQueue)
		if !ok {
			return nil, fmt.Errorf("%s keeps no jobs of other topics", sys.key())
		}
		for done := 0; done < p.big; done += batchSize {
			if err := fq.enqueueForeignBatch(ctx, min(batchSize, p.big-done)); err != nil {
				return nil, fmt.Errorf("enqueue a foreign batch: %w", err)
			}
		}
	}
	if err := fill(ctx, q, p.claimJobs); err != nil {
		return nil, err
	}
	n, elapsed, err := workTimed(ctx, q, p.claimJobs, p.limit, "")
	if err != nil {
		return nil, err
	}
	o := newOutcome()
	o.values[claimCostMetric[b]] = ms(elapsed)
	if n < int64(p.claimJobs) {
		o.notef("claim cost with %s: %d of %d jobs within %s", b.describe(p), n, p.claimJobs, p.limit)
	}
	return o, nil
}

// measureRSS fills a fresh database with `pending` jobs, then starts a child
// process that opens sys on it, starts working with handlers that block,
// and reports its peak RSS after p.hold (f).
func measureRSS(ctx context.Context, e *env, sys system, p params, pending int) (*outcome, error) {
	q, err := opened(ctx, e, sys)
	if err != nil {
		return nil, err
	}
	defer q.release()
	if err := fill(ctx, q, pending); err != nil {
		return nil, err
	}
	if err := q.closeQueue(); err != nil {
		return nil, fmt.Errorf("close before the child: %w", err)
	}
	kib, err := runRSSChild(ctx, sys, q.target, p.hold)
	if err != nil {
		return nil, err
	}
	m := mRSSSmall
	if pending > p.small {
		m = mRSSBig
	}
	o := newOutcome()
	o.values[m] = float64(kib) / 1024
	return o, nil
}

// peakRSSKiB reads VmHWM, the peak resident set size, of this process.
func peakRSSKiB() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read the peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				break
			}
			return strconv.ParseInt(fields[0], 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read the peak RSS: %w", err)
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}
