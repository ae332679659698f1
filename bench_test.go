package jobs

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// BenchmarkEnqueue measures one Enqueue per call.
func BenchmarkEnqueue(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		store := GetJobStore(newApp(b, be, testConfig()))
		payload := map[string]any{"user_id": "123"}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := store.Enqueue("bench", payload); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
}

// BenchmarkEnqueueMany measures batches of 1,000 jobs per call.
func BenchmarkEnqueueMany(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		store := GetJobStore(newApp(b, be, testConfig()))
		items := make([]JobEnqueueItem, 1000)
		for i := range items {
			items[i] = JobEnqueueItem{Topic: "bench", Payload: map[string]int{"i": i}}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := store.EnqueueMany(items); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "jobs/s")
	})
}

// BenchmarkWork measures working pre-enqueued no-op jobs with the default
// config: claim, run, complete.
func BenchmarkWork(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		cfg := DefaultConfig()
		cfg.AutoStart, cfg.HTTPEnabled = false, false
		store := GetJobStore(newApp(b, be, cfg))
		var done atomic.Int64
		allDone := make(chan struct{})
		if err := store.Register("bench", func(*Job) error {
			if done.Add(1) == int64(b.N) {
				close(allDone)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		items := make([]JobEnqueueItem, b.N)
		for i := range items {
			items[i] = JobEnqueueItem{Topic: "bench", Payload: i}
		}
		for start := 0; start < len(items); start += 1000 {
			if _, err := store.EnqueueMany(items[start:min(start+1000, len(items))]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		if err := store.Start(); err != nil {
			b.Fatal(err)
		}
		select {
		case <-allDone:
		case <-time.After(benchDeadline):
			b.Fatalf("%d of %d jobs worked after %v", done.Load(), b.N, benchDeadline)
		}
		b.StopTimer()
		if err := store.Stop(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
}

// benchDeadline bounds every wait of the benchmarks, so a broken
// dispatcher fails them instead of hanging them.
const benchDeadline = 5 * time.Minute

// eachBackendB runs body as one sub-benchmark per backend.
func eachBackendB(b *testing.B, body func(b *testing.B, be backend)) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) { body(b, be) })
	}
}

// BenchmarkPickup measures idle pickup: from the start of Enqueue to the
// start of the handler, one job at a time, and reports percentiles.
func BenchmarkPickup(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		cfg := DefaultConfig()
		cfg.AutoStart, cfg.HTTPEnabled = false, false
		store := GetJobStore(newApp(b, be, cfg))
		started := make(chan time.Time, 1)
		if err := store.Register("bench", func(*Job) error { started <- time.Now(); return nil }); err != nil {
			b.Fatal(err)
		}
		if err := store.Start(); err != nil {
			b.Fatal(err)
		}
		defer store.Stop()
		latencies := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			begin := time.Now()
			if _, err := store.Enqueue("bench", nil); err != nil {
				b.Fatal(err)
			}
			select {
			case at := <-started:
				latencies = append(latencies, at.Sub(begin))
			case <-time.After(benchDeadline):
				b.Fatalf("job %d of %d not picked up within %v", i+1, b.N, benchDeadline)
			}
		}
		b.StopTimer()
		slices.Sort(latencies)
		for _, q := range []struct {
			name string
			at   float64
		}{{"p50-ms", 0.50}, {"p95-ms", 0.95}, {"p99-ms", 0.99}} {
			d := latencies[int(q.at*float64(len(latencies)-1))]
			b.ReportMetric(float64(d.Microseconds())/1000, q.name)
		}
	})
}

// claimBatch is the claim size of BenchmarkClaim and the outcome batch of
// BenchmarkFinish: the default Workers and BatchSize.
const claimBatch = DefaultBatchSize

// BenchmarkClaim measures the claim statement alone: b.N pending jobs
// claimed claimBatch at a time.
func BenchmarkClaim(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		drv, topics := pendingJobs(b, be, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		claimAll(b, drv, topics, b.N)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
}

// BenchmarkFinish measures the completion statement alone: b.N claimed jobs
// completed claimBatch outcomes at a time.
func BenchmarkFinish(b *testing.B) {
	eachBackendB(b, func(b *testing.B, be backend) {
		drv, topics := pendingJobs(b, be, b.N)
		claimed := claimAll(b, drv, topics, b.N)
		outcomes := make([]driver.Outcome, len(claimed))
		for i, row := range claimed {
			outcomes[i] = driver.Outcome{ID: row.ID, LockVersion: row.LockVersion, Status: StatusCompleted}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for start := 0; start < len(outcomes); start += claimBatch {
			batch := outcomes[start:min(start+claimBatch, len(outcomes))]
			n, err := drv.Finish(context.Background(), driver.FinishParams{Outcomes: batch, Now: time.Now()})
			if err != nil || n != len(batch) {
				b.Fatalf("Finish = %d, %v; want %d", n, err, len(batch))
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
}

// BenchmarkClaimPastBacklogs measures the claim statement alone, as
// BenchmarkClaim does, beside a backlog of 100,000 jobs that claims must
// not read: of another topic, of the claimed topic but due at a lower
// priority, completed, or due only in a month. Each should claim as fast
// as with no backlog.
func BenchmarkClaimPastBacklogs(b *testing.B) {
	const size = 100000
	past, ahead := time.Now().Add(-time.Hour), time.Now().Add(30*24*time.Hour)
	backlogs := []struct {
		name     string
		job      func(i int) driver.InsertParams
		complete bool
	}{
		{"none", nil, false},
		{"other-topic", func(i int) driver.InsertParams { return backlogJob(i, "other", 0, past) }, false},
		{"lower-priority", func(i int) driver.InsertParams { return backlogJob(i, "bench", -1, past) }, false},
		{"completed", func(i int) driver.InsertParams { return backlogJob(i, "bench", 0, past) }, true},
		{"delayed", func(i int) driver.InsertParams { return backlogJob(i, "bench", 0, ahead) }, false},
	}
	eachBackendB(b, func(b *testing.B, be backend) {
		for _, backlog := range backlogs {
			b.Run(backlog.name, func(b *testing.B) {
				store, drv := benchStore(b, be)
				if backlog.job != nil {
					jobs := make([]driver.InsertParams, size)
					for i := range jobs {
						jobs[i] = backlog.job(i)
					}
					insertBacklog(b, drv, jobs, backlog.complete)
				}
				topics := enqueuePending(b, store, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				claimAll(b, drv, topics, b.N)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			})
		}
	})
}

// backlogJob is the backlog job numbered i, of topic at priority, due at
// runAt.
func backlogJob(i int, topic string, priority int, runAt time.Time) driver.InsertParams {
	return driver.InsertParams{ID: fmt.Sprintf("backlog%06d", i), Topic: topic, Payload: []byte(`{}`),
		RunAt: runAt, Priority: priority, Now: time.Now()}
}

// insertBacklog inserts jobs through drv, 1,000 at a time, and when
// complete, claims and completes them all.
func insertBacklog(b *testing.B, drv driver.Driver, jobs []driver.InsertParams, complete bool) {
	for batch := range slices.Chunk(jobs, 1000) {
		if _, err := drv.Insert(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	for complete {
		now := time.Now()
		rows, err := drv.Claim(context.Background(), driver.ClaimParams{Limit: 1000, Now: now,
			Topics: []driver.ClaimTopic{{Topic: jobs[0].Topic, Limit: 1000, LockedUntil: now.Add(time.Hour)}}})
		if err != nil {
			b.Fatal(err)
		}
		outcomes := make([]driver.Outcome, len(rows))
		for i, row := range rows {
			outcomes[i] = driver.Outcome{ID: row.ID, LockVersion: row.LockVersion, Status: StatusCompleted}
		}
		if _, err := drv.Finish(context.Background(), driver.FinishParams{Outcomes: outcomes, Now: now}); err != nil {
			b.Fatal(err)
		}
		complete = len(rows) > 0
	}
}

// pendingJobs enqueues n no-op jobs on a fresh app (dispatcher stopped) and
// returns the app's job driver and the jobs' topics.
func pendingJobs(b *testing.B, be backend, n int) (driver.Driver, []string) {
	store, drv := benchStore(b, be)
	return drv, enqueuePending(b, store, n)
}

// benchStore returns the store of a fresh app (dispatcher stopped) and its
// job driver.
func benchStore(b *testing.B, be backend) (*JobStore, driver.Driver) {
	store := GetJobStore(newApp(b, be, testConfig()))
	db, err := store.p.currentDB()
	if err != nil {
		b.Fatal(err)
	}
	return store, db.drv
}

// enqueuePending enqueues n no-op jobs and returns their topics.
func enqueuePending(b *testing.B, store *JobStore, n int) []string {
	items := make([]JobEnqueueItem, n)
	for i := range items {
		items[i] = JobEnqueueItem{Topic: "bench", Payload: i}
	}
	for start := 0; start < n; start += 1000 {
		if _, err := store.EnqueueMany(items[start:min(start+1000, n)]); err != nil {
			b.Fatal(err)
		}
	}
	return []string{"bench"}
}

// claimAll claims n jobs of topics, claimBatch at a time, and returns them.
func claimAll(b *testing.B, drv driver.Driver, topics []string, n int) []driver.JobRow {
	claimed := make([]driver.JobRow, 0, n)
	for len(claimed) < n {
		now := time.Now()
		claim := make([]driver.ClaimTopic, len(topics))
		for i, topic := range topics {
			claim[i] = driver.ClaimTopic{Topic: topic, Limit: claimBatch, LockedUntil: now.Add(DefaultLockDuration)}
		}
		rows, err := drv.Claim(context.Background(), driver.ClaimParams{Topics: claim, Limit: claimBatch, Now: now})
		if err != nil || len(rows) == 0 {
			b.Fatalf("Claim after %d of %d jobs = %d rows, %v", len(claimed), n, len(rows), err)
		}
		claimed = append(claimed, rows...)
	}
	return claimed
}
