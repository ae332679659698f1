package jobstest_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
	"github.com/pocketbase/pocketbase/tests"
)

// TestMain stops the throwaway PostgreSQL server after the tests.
func TestMain(m *testing.M) { pgtest.Main(m) }

// backends are the job databases the tests run on: each points a Config at
// its database.
var backends = []struct {
	name      string
	configure func(testing.TB, *jobs.Config)
}{
	{"sqlite", func(testing.TB, *jobs.Config) {}},
	{"postgres", func(t testing.TB, cfg *jobs.Config) { cfg.PostgresDSN = pgtest.DSN(t) }},
}

// eachBackend runs body as one parallel subtest per backend.
func eachBackend(t *testing.T, body func(t *testing.T, configure func(testing.TB, *jobs.Config))) {
	t.Helper()
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			body(t, b.configure)
		})
	}
}

// newStore returns the job store of a new bootstrapped test app whose
// dispatcher does not run, on the database configure chooses.
func newStore(t *testing.T, configure func(testing.TB, *jobs.Config)) *jobs.JobStore {
	t.Helper()
	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatalf("new test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	cfg := jobs.DefaultConfig()
	cfg.AutoStart, cfg.HTTPEnabled = false, false
	configure(t, &cfg)
	if err := jobs.Register(app, cfg); err != nil {
		t.Fatalf("register the plugin: %v", err)
	}
	return jobs.GetJobStore(app)
}

// mustRegister registers a handler or fails the test.
func mustRegister(t *testing.T, store *jobs.JobStore, topic string, opts *jobs.HandlerOptions, h func(*jobs.Job) error) {
	t.Helper()
	if err := store.RegisterWithOptions(topic, h, opts); err != nil {
		t.Fatalf("register %q: %v", topic, err)
	}
}

// mustEnqueue enqueues a job or fails the test.
func mustEnqueue(t *testing.T, store *jobs.JobStore, topic string, payload any, opts *jobs.JobEnqueueOptions) *jobs.Job {
	t.Helper()
	job, err := store.EnqueueWithOptions(topic, payload, opts)
	if err != nil {
		t.Fatalf("enqueue %q: %v", topic, err)
	}
	return job
}

// mustGet reads a job or fails the test.
func mustGet(t *testing.T, store *jobs.JobStore, id string) *jobs.Job {
	t.Helper()
	job, err := store.Get(id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return job
}

// recorder is a testing.TB that records the failures it is told of
// instead of failing the test, so that a test can check that a helper
// fails, and how. Unlike a real test, it goes on after Fatalf.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) { r.record(format, args...) }

func (r *recorder) Fatalf(format string, args ...any) { r.record(format, args...) }

func (r *recorder) record(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// failure returns the one failure recorded, failing t unless there is
// exactly one and it holds every one of want.
func (r *recorder) failure(t *testing.T, want ...string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) != 1 {
		t.Fatalf("got %d failures, want 1: %q", len(r.failures), r.failures)
	}
	for _, w := range want {
		if !strings.Contains(r.failures[0], w) {
			t.Errorf("the failure does not say %q:\n%s", w, r.failures[0])
		}
	}
	return r.failures[0]
}

// passed fails t if a failure was recorded.
func (r *recorder) passed(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) > 0 {
		t.Fatalf("got failures, want none:\n%s", strings.Join(r.failures, "\n"))
	}
}

// hour is a delay no test waits for.
const hour = time.Hour
