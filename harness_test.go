package jobs

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/pgtest"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/pocketbase-jobs/jobs/internal/testpoll"
)

// backend is one database the behaviour suite runs against.
type backend struct {
	name string
	// configure points cfg at the backend's database for test t.
	configure func(t testing.TB, cfg *Config)
}

// backends lists every database of the shared behaviour suite.
var backends = []backend{
	{name: "sqlite", configure: func(testing.TB, *Config) {}},
	{name: "postgres", configure: func(t testing.TB, cfg *Config) { cfg.PostgresDSN = pgtest.DSN(t) }},
}

// TestMain stops the throwaway PostgreSQL server and removes the API
// fixture's template after the tests.
func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	removeAPITemplate()
	os.Exit(code)
}

// backendNamed returns the backend called name.
func backendNamed(t testing.TB, name string) backend {
	t.Helper()
	for _, b := range backends {
		if b.name == name {
			return b
		}
	}
	t.Fatalf("no backend %q", name)
	return backend{}
}

// eachBackend runs body as one subtest per backend. The test and its
// subtests run in parallel with the other parallel tests: body must not
// change the environment (t.Setenv) or other state shared by tests.
func eachBackend(t *testing.T, body func(t *testing.T, b backend)) {
	t.Helper()
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			body(t, b)
		})
	}
}

// testConfig is DefaultConfig with a fast poll, no HTTP and no AutoStart.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.PollInterval = 50 * time.Millisecond
	cfg.HTTPEnabled = false
	cfg.AutoStart = false
	cfg.ShutdownTimeout = 2 * time.Second
	return cfg
}

// newApp returns a bootstrapped PocketBase test app with the plugin
// registered with cfg on backend b, cleaned up (and its dispatcher stopped)
// when t ends.
func newApp(t testing.TB, b backend, cfg Config) *tests.TestApp {
	t.Helper()
	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatalf("new test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	b.configure(t, &cfg)
	if err := Register(app, cfg); err != nil {
		t.Fatalf("register: %v", err)
	}
	return app
}

// startedStore registers, starts and returns the store of a new app.
func startedStore(t *testing.T, b backend, cfg Config, handlers map[string]func(*Job) error) *JobStore {
	t.Helper()
	store := GetJobStore(newApp(t, b, cfg))
	for topic, h := range handlers {
		if err := store.Register(topic, h); err != nil {
			t.Fatalf("register handler %q: %v", topic, err)
		}
	}
	if err := store.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	return store
}

// dispatcherRunning tells whether store's dispatcher has a run going.
func dispatcherRunning(store *JobStore) bool {
	d := store.p.dispatcher
	d.lifeMu.Lock()
	defer d.lifeMu.Unlock()
	return d.run != nil
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testpoll.Until(t, within, what, cond)
}

// waitStatus waits until job id has the given status and returns it.
func waitStatus(t *testing.T, store *JobStore, id, status string) *Job {
	t.Helper()
	var job *Job
	waitFor(t, 10*time.Second, "job "+id+" to be "+status, func() bool {
		var err error
		job, err = store.Get(id)
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		return job.Status == status
	})
	return job
}

// mustEnqueue enqueues or fails the test.
func mustEnqueue(t *testing.T, store *JobStore, topic string, payload any, opts *JobEnqueueOptions) *Job {
	t.Helper()
	job, err := store.EnqueueWithOptions(topic, payload, opts)
	if err != nil {
		t.Fatalf("enqueue %q: %v", topic, err)
	}
	return job
}

// expectErr fails the test unless errors.Is(err, want).
func expectErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// counter counts calls per job id; safe for concurrent use.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	c.n[id]++
	return c.n[id]
}

func (c *counter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}
