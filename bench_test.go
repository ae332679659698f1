package jobs

import (
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
