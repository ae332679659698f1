package jobs

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"
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
		if err := store.Register("bench", func(*Job) error { done.Add(1); return nil }); err != nil {
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
		for done.Load() < int64(b.N) {
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		if err := store.Stop(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
}

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
			latencies = append(latencies, (<-started).Sub(begin))
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
