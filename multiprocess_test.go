package jobs

import (
	"sync"
	"testing"
	"time"
)

// TestProcessesShareOnePostgresQueue runs two plugin instances, each with its
// own app and connection pool, on one PostgreSQL job table: every job runs
// exactly once and both instances do part of the work.
func TestProcessesShareOnePostgresQueue(t *testing.T) {
	pg := backendNamed(t, "postgres")
	const total = 5000
	cfg := testConfig()
	pg.configure(t, &cfg)
	keep := func(testing.TB, *Config) {} // both instances share the DSN above
	shared := backend{name: pg.name, configure: keep}

	var mu sync.Mutex
	runs := make(map[string]int, total)
	byInstance := make([]int, 2)
	stores := make([]*JobStore, 2)
	for i := range stores {
		stores[i] = startedStore(t, shared, cfg, map[string]func(*Job) error{
			"shared": func(job *Job) error {
				mu.Lock()
				runs[job.ID]++
				byInstance[i]++
				mu.Unlock()
				return nil
			},
		})
	}

	items := make([]JobEnqueueItem, total)
	for i := range items {
		items[i] = JobEnqueueItem{Topic: "shared", Payload: i}
	}
	for start := 0; start < total; start += 500 {
		if _, err := stores[start/500%2].EnqueueMany(items[start : start+500]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 2*time.Minute, "all jobs to complete", func() bool {
		stats, err := stores[0].Stats()
		if err != nil {
			t.Fatal(err)
		}
		return stats.Completed == total
	})

	mu.Lock()
	defer mu.Unlock()
	if len(runs) != total {
		t.Fatalf("%d distinct jobs ran, want %d", len(runs), total)
	}
	for id, n := range runs {
		if n != 1 {
			t.Fatalf("job %s ran %d times", id, n)
		}
	}
	if byInstance[0] == 0 || byInstance[1] == 0 {
		t.Fatalf("the work was not shared: %v", byInstance)
	}
	t.Logf("jobs per instance: %v", byInstance)
}
