package jobs

import (
	"context"
	"database/sql"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tests"
)

// TestRuntimeStaysOutOfTheDevQueryLog gives the app's connections a query
// log, as PocketBase's dev mode does, and works two jobs: neither the
// migration, the enqueues, the claims, the outcomes nor the polling around
// them is logged.
func TestRuntimeStaysOutOfTheDevQueryLog(t *testing.T) {
	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatalf("new test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	var logged atomic.Int64
	for _, builder := range []dbx.Builder{app.NonconcurrentDB(), app.ConcurrentDB()} {
		db := builder.(*dbx.DB)
		db.QueryLogFunc = func(context.Context, time.Duration, string, *sql.Rows, error) { logged.Add(1) }
		db.ExecLogFunc = func(context.Context, time.Duration, string, sql.Result, error) { logged.Add(1) }
	}
	cfg := testConfig()
	cfg.PollInterval = 5 * time.Millisecond
	if err := Register(app, cfg); err != nil {
		t.Fatalf("register: %v", err)
	}
	store := GetJobStore(app)
	if err := store.Register("digest", func(*Job) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := store.Start(); err != nil {
		t.Fatal(err)
	}
	job := mustEnqueue(t, store, "digest", nil, nil)
	waitStatus(t, store, job.ID, StatusCompleted)
	// A delayed job makes the dispatcher poll and look ahead meanwhile.
	delayed := mustEnqueue(t, store, "digest", nil, &JobEnqueueOptions{RunAt: time.Now().Add(100 * time.Millisecond)})
	waitStatus(t, store, delayed.ID, StatusCompleted)
	if n := logged.Load(); n != 0 {
		t.Fatalf("the job runtime wrote %d statements to the app's query log", n)
	}
}
