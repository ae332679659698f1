package jobs

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/pgtest"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// The tests of this file break the job database in one way each while
// handlers run, and check that Stop, then the app's terminate hook, each
// return within ShutdownTimeout plus shutdownMargin, and that no job held
// then is lost: once the database is back, each is pending or processing.

// heldJobs is an app whose two workers run handlers that wait for their
// context to end, with a third job pending behind them.
type heldJobs struct {
	app   *tests.TestApp
	store *JobStore
	cfg   Config
	ids   []string
}

// holdJobs starts heldJobs on backend b and returns once both handlers run.
func holdJobs(t *testing.T, b backend) *heldJobs {
	t.Helper()
	cfg := testConfig()
	cfg.Workers = 2
	cfg.ShutdownTimeout = 500 * time.Millisecond
	cfg.LockDuration = time.Hour // a job a stop leaves processing stays so
	app := newApp(t, b, cfg)
	store := GetJobStore(app)
	running := make(chan struct{}, cfg.Workers)
	err := store.Register("held", func(job *Job) error {
		running <- struct{}{}
		<-job.Context().Done()
		return job.Context().Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Start(); err != nil {
		t.Fatal(err)
	}
	h := &heldJobs{app: app, store: store, cfg: store.p.config}
	for range cfg.Workers + 1 {
		h.ids = append(h.ids, mustEnqueue(t, store, "held", nil, nil).ID)
	}
	for range cfg.Workers {
		select {
		case <-running:
		case <-time.After(10 * time.Second):
			t.Fatal("the handlers did not start")
		}
	}
	return h
}

// stopWithinTheBound stops the dispatcher, then triggers the app's
// terminate hook, and fails t unless each returns within ShutdownTimeout
// plus shutdownMargin.
func (h *heldJobs) stopWithinTheBound(t *testing.T) {
	t.Helper()
	bound := h.cfg.ShutdownTimeout + shutdownMargin
	start := time.Now()
	err := h.store.Stop()
	stopped := time.Since(start)
	t.Logf("Stop returned after %v (bound %v): %v", stopped.Round(time.Millisecond), bound, err)
	if stopped > bound {
		t.Errorf("Stop took %v, want at most %v", stopped, bound)
	}

	start = time.Now()
	err = h.app.OnTerminate().Trigger(&core.TerminateEvent{App: h.app}, func(*core.TerminateEvent) error { return nil })
	terminated := time.Since(start)
	t.Logf("the terminate hook returned after %v (bound %v): %v", terminated.Round(time.Millisecond), bound, err)
	if terminated > bound {
		t.Errorf("the terminate hook took %v, want at most %v", terminated, bound)
	}
}

// expectNoneLost opens the job database again, as the next start of the app
// would, and fails t unless every held job is there, pending or processing.
func (h *heldJobs) expectNoneLost(t *testing.T) {
	t.Helper()
	if err := h.store.p.open(h.app); err != nil {
		t.Fatalf("open the job database again: %v", err)
	}
	for _, id := range h.ids {
		job, err := h.store.Get(id)
		if err != nil {
			t.Fatalf("job %s after the stop: %v", id, err)
		}
		if job.Status != StatusPending && job.Status != StatusProcessing {
			t.Errorf("job %s is %s after the stop, want pending or processing", id, job.Status)
		}
	}
}

// restartableBackend is PostgreSQL on srv, a server of the test's own.
func restartableBackend(srv *pgtest.Server) backend {
	return backend{name: "postgres", configure: func(_ testing.TB, cfg *Config) { cfg.PostgresDSN = srv.DSN() }}
}

// TestStopIsBoundedWhenPostgresHangs stops every process of the PostgreSQL
// server (SIGSTOP) while handlers run: connections stay open, and nothing
// answers.
func TestStopIsBoundedWhenPostgresHangs(t *testing.T) {
	t.Parallel()
	srv := pgtest.StartRestartable(t)
	h := holdJobs(t, restartableBackend(srv))
	srv.Pause()
	h.stopWithinTheBound(t)
	srv.Resume()
	h.expectNoneLost(t)
}

// TestStopIsBoundedWhenPostgresDropsItsConnections shuts the PostgreSQL
// server down at once (an immediate shutdown, which drops every connection
// without a goodbye) while handlers run: every call fails.
func TestStopIsBoundedWhenPostgresDropsItsConnections(t *testing.T) {
	t.Parallel()
	srv := pgtest.StartRestartable(t)
	h := holdJobs(t, restartableBackend(srv))
	srv.Stop("immediate")
	h.stopWithinTheBound(t)
	srv.Start()
	h.expectNoneLost(t)
}

// TestStopIsBoundedWhenTheSQLiteFileIsLocked has another connection hold
// the write lock of the app's data.db (BEGIN IMMEDIATE) while handlers run:
// every write of the plugin waits for it, and SQLite does not give up
// before its busy timeout (10 s in PocketBase), whatever the context says.
func TestStopIsBoundedWhenTheSQLiteFileIsLocked(t *testing.T) {
	t.Parallel()
	h := holdJobs(t, backendNamed(t, "sqlite"))
	release := lockForWrites(t, filepath.Join(h.app.DataDir(), "data.db"))
	h.stopWithinTheBound(t)
	release()
	h.expectNoneLost(t)
}

// lockForWrites takes the write lock of the SQLite database at path on a
// connection of its own, and returns the function that gives it back.
func lockForWrites(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("lock %s: %v", path, err)
	}
	return func() {
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Errorf("unlock %s: %v", path, err)
		}
		conn.Close()
	}
}
