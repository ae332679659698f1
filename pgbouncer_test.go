package jobs

import (
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

// TestThroughPgBouncer runs two instances, each with its own app and
// connection pool, on one database behind a PgBouncer, with the DSN of
// the PgBouncer as an operator would copy it: single and batch enqueues of
// one instance are claimed, run and completed by the other, and a cancel
// holds. Through session pooling the worker is woken by notifications (it
// polls only once a minute); through transaction pooling, where
// notifications cannot arrive, it finds the jobs by polling.
func TestThroughPgBouncer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode pgtest.PoolMode
		poll time.Duration
	}{
		{pgtest.SessionPooling, time.Minute},
		{pgtest.TransactionPooling, 50 * time.Millisecond},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			t.Parallel()
			pooled, _ := pgtest.Bouncer(t, tt.mode)
			shared := backend{name: "pgbouncer", configure: func(_ testing.TB, cfg *Config) { cfg.PostgresDSN = pooled }}
			cfg := testConfig()
			cfg.PollInterval = tt.poll
			var runs counter
			worker := startedStore(t, shared, cfg, map[string]func(*Job) error{
				"work": func(job *Job) error { runs.add(job.ID); return nil },
			})
			enqueuer := startedStore(t, shared, testConfig(), nil)

			var ids []string
			for range 2 {
				ids = append(ids, mustEnqueue(t, enqueuer, "work", nil, nil).ID)
			}
			batch, err := enqueuer.EnqueueMany([]JobEnqueueItem{{Topic: "work", Payload: 1}, {Topic: "work", Payload: 2}})
			if err != nil {
				t.Fatalf("enqueue many: %v", err)
			}
			for _, job := range batch {
				ids = append(ids, job.ID)
			}
			for _, id := range ids {
				waitStatus(t, worker, id, StatusCompleted)
				if n := runs.get(id); n != 1 {
					t.Fatalf("job %s ran %d times, want once", id, n)
				}
			}

			later := mustEnqueue(t, enqueuer, "work", nil, &JobEnqueueOptions{RunAt: time.Now().Add(time.Hour)})
			if _, err := enqueuer.Cancel(later.ID); err != nil {
				t.Fatalf("cancel: %v", err)
			}
			if job := waitStatus(t, worker, later.ID, StatusCancelled); runs.get(job.ID) != 0 {
				t.Fatalf("cancelled job %s ran", job.ID)
			}
		})
	}
}
