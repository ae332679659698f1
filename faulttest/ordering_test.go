package faulttest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs"
)

// TestRunnableJobsRunOldestFirst enqueues runnable jobs newest run_at first
// and works them with a single worker: they run oldest run_at first. (With
// more workers, jobs run side by side and finish in any order: the plugin
// promises no stricter ordering.)
func TestRunnableJobsRunOldestFirst(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		const total = 20
		var (
			mu    sync.Mutex
			order []int
			done  = make(chan struct{})
		)
		cfg := jobs.DefaultConfig()
		cfg.Workers = 1
		store := newStore(t, b, cfg, map[string]func(*jobs.Job) error{
			"ordered": func(job *jobs.Job) error {
				var n int
				if err := job.UnmarshalPayload(&n); err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				order = append(order, n)
				if len(order) == total {
					close(done)
				}
				return nil
			},
		})
		// Job n runs at base-n seconds: the last enqueued is the oldest.
		base := time.Now()
		for n := range total {
			opts := &jobs.JobEnqueueOptions{RunAt: base.Add(-time.Duration(n) * time.Second)}
			if _, err := store.EnqueueWithOptions("ordered", n, opts); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.Start(); err != nil {
			t.Fatal(err)
		}
		await(t, done, 10*time.Second, "every job to run")

		mu.Lock()
		defer mu.Unlock()
		want := make([]int, total)
		for i := range want {
			want[i] = total - 1 - i
		}
		if !slices.Equal(order, want) {
			t.Errorf("jobs ran in the order %v, want oldest run_at first: %v", order, want)
		}
	})
}
