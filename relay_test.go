package jobs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
	"github.com/pocketbase-jobs/jobs/internal/service"
	"github.com/pocketbase/pocketbase/core"
)

// outboxRow is an outbox row as an older version or a bug might have
// written it: nothing checks it.
func outboxRow(id, topic, payload string, maxRetries int, created time.Time) driver.InsertParams {
	return driver.InsertParams{
		ID: id, Topic: topic, Payload: []byte(payload), RunAt: created, MaxRetries: maxRetries, Now: created,
	}
}

// rejectedRows returns the error of every row of _jobs_outbox_rejected, by
// job id.
func rejectedRows(t *testing.T, app core.App) map[string]string {
	t.Helper()
	var rows []struct {
		ID    string `db:"id"`
		Error string `db:"error"`
	}
	if err := app.NonconcurrentDB().NewQuery(`SELECT id, error FROM _jobs_outbox_rejected`).All(&rows); err != nil {
		t.Fatalf("read _jobs_outbox_rejected: %v", err)
	}
	byID := make(map[string]string, len(rows))
	for _, r := range rows {
		byID[r.ID] = r.Error
	}
	return byID
}

// outboxLen counts the jobs in the app's outbox.
func outboxLen(t *testing.T, app core.App) int {
	t.Helper()
	var n int
	if err := app.NonconcurrentDB().NewQuery(`SELECT COUNT(*) FROM _jobs_outbox`).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// expectOutboxEmpty fails the test unless the app's outbox is empty.
func expectOutboxEmpty(t *testing.T, app core.App) {
	t.Helper()
	if n := outboxLen(t, app); n != 0 {
		t.Fatalf("%d jobs are left in the outbox", n)
	}
}

// refuseTopic makes the PostgreSQL job table at dsn refuse jobs of topic,
// as a reason to refuse a row that no check of the plugin foresees.
func refuseTopic(t *testing.T, dsn, topic string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), `ALTER TABLE _jobs ADD CONSTRAINT refused_topic CHECK (topic <> '`+topic+`')`)
	if err != nil {
		t.Fatal(err)
	}
}

// TestRelayMovesAsideRowsThatCannotBeStored puts rows PostgreSQL cannot or
// will not store into the outbox, ahead of a transactional enqueue: the
// good job is relayed, the bad rows are moved to _jobs_outbox_rejected with
// their errors, and a relay started later (as after a restart) finds
// another bad row without getting stuck either, logging it once.
func TestRelayMovesAsideRowsThatCannotBeStored(t *testing.T) {
	app := newApp(t, backendNamed(t, "postgres"), testConfig())
	store := GetJobStore(app)
	refuseTopic(t, store.p.config.PostgresDSN, "refused")
	earlier := time.Now().Add(-time.Minute)
	bad := []driver.InsertParams{
		outboxRow("badutf8xxxxxxx1", "t", "{\"name\":\"caf\xe9\"}", 3, earlier),
		outboxRow("badretriesxxxx1", "t", `{}`, 1<<40, earlier.Add(time.Millisecond)),
		outboxRow("badtopicxxxxxx1", "refused", `{}`, 3, earlier.Add(2*time.Millisecond)),
	}
	if err := sqlitedriver.NewOutbox(app.NonconcurrentDB()).Add(t.Context(), bad); err != nil {
		t.Fatal(err)
	}

	good, err := enqueueInTransaction(app, "t", map[string]any{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the transactional job to be relayed, and the outbox to be empty", func() bool {
		_, err := store.Get(good.ID)
		return err == nil && outboxLen(t, app) == 0
	})
	rejected := rejectedRows(t, app)
	for _, j := range bad {
		if rejected[j.ID] == "" {
			t.Errorf("job %s is not in _jobs_outbox_rejected with an error: %v", j.ID, rejected)
		}
		if _, err := store.Get(j.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("the bad job %s reached PostgreSQL: %v", j.ID, err)
		}
	}
	if len(rejected) != len(bad) {
		t.Errorf("%d rows rejected, want %d", len(rejected), len(bad))
	}
	if e := rejected["badtopicxxxxxx1"]; !strings.Contains(e, "refused_topic") || !strings.Contains(e, "23514") {
		t.Errorf("PostgreSQL's refusal is stored as %q, want the constraint and SQLSTATE 23514", e)
	}

	// The process ends; another starts on the same data with a bad row
	// ahead of a good one in the outbox.
	db, err := store.p.currentDB()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.relay.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	next, err := store.p.insertParams("t", map[string]any{"n": 2}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	later := []driver.InsertParams{outboxRow("badtopicxxxxxx2", "refused", `{}`, 3, earlier), next}
	if err := sqlitedriver.NewOutbox(app.NonconcurrentDB()).Add(t.Context(), later); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	restarted := startTestRelay(app, db.drv, time.Hour, &logs)
	if err := restarted.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(next.ID); err != nil {
		t.Fatalf("the good job behind a bad one was not relayed after a restart: %v", err)
	}
	expectOutboxEmpty(t, app)
	if rejectedRows(t, app)["badtopicxxxxxx2"] == "" {
		t.Error("the bad row met after a restart is not in _jobs_outbox_rejected")
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "badtopicxxxxxx2") {
		t.Errorf("logged %d errors, want one naming the job:\n%s", n, logs.String())
	}
}

// startTestRelay starts a relay from app's outbox to drv, every every,
// that logs to logs, as a process starting on app's data would.
func startTestRelay(app core.App, drv driver.Driver, every time.Duration, logs *bytes.Buffer) *service.Relay {
	r := service.NewRelay(service.RelayConfig{
		Outbox: sqlitedriver.NewOutbox(app.NonconcurrentDB()),
		Driver: drv,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Clock:  new(clock.Clock),
		Check:  checkRow,
		Moved:  func() {},
		Every:  every,
	})
	r.Start()
	return r
}

// unreachable is a job database that cannot be reached; it counts the
// inserts tried.
type unreachable struct {
	driver.Driver
	inserts atomic.Int32
}

func (d *unreachable) Insert(context.Context, []driver.InsertParams) ([]driver.JobRow, error) {
	d.inserts.Add(1)
	return nil, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
}

// TestRelayKeepsRowsWhileTheJobDatabaseIsUnreachable checks that a relay
// that cannot reach the job database moves nothing aside: every row stays
// in the outbox for the next round, and the outage is logged once.
func TestRelayKeepsRowsWhileTheJobDatabaseIsUnreachable(t *testing.T) {
	app := newApp(t, backendNamed(t, "sqlite"), testConfig())
	if err := sqlitedriver.NewOutbox(app.NonconcurrentDB()).Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rows := []driver.InsertParams{outboxRow("keptxxxxxxxxxx1", "t", `{}`, 3, now), outboxRow("keptxxxxxxxxxx2", "t", `{}`, 3, now)}
	if err := sqlitedriver.NewOutbox(app.NonconcurrentDB()).Add(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	drv := &unreachable{}
	r := startTestRelay(app, drv, time.Millisecond, &logs)
	waitFor(t, 5*time.Second, "a few relay rounds", func() bool { return drv.inserts.Load() >= 3 })
	if err := r.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := app.NonconcurrentDB().NewQuery(`SELECT COUNT(*) FROM _jobs_outbox`).Row(&left); err != nil {
		t.Fatal(err)
	}
	if left != len(rows) {
		t.Errorf("%d jobs left in the outbox, want %d", left, len(rows))
	}
	if rejected := rejectedRows(t, app); len(rejected) != 0 {
		t.Errorf("rows moved aside during an outage: %v", rejected)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("logged %d errors, want one:\n%s", n, logs.String())
	}
}

// TestTransactionalJobReachesPostgresRightAfterTheCommit: the relay copies
// a job enqueued in a transaction to PostgreSQL right after the commit,
// without waiting for its next round (an hour away here).
func TestTransactionalJobReachesPostgresRightAfterTheCommit(t *testing.T) {
	cfg := testConfig()
	cfg.PollInterval = time.Hour
	app := newApp(t, backendNamed(t, "postgres"), cfg)
	store := GetJobStore(app)
	job, err := enqueueInTransaction(app, "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the job to reach PostgreSQL, and leave the outbox", func() bool {
		_, err := store.Get(job.ID)
		return err == nil && outboxLen(t, app) == 0
	})
}

// TestCommitDoesNotWaitForAHangingPostgres: a transaction that enqueues a
// job commits, and RunInTransaction returns, while the PostgreSQL job
// database answers nothing (its processes are stopped); the job reaches it
// once it answers again.
func TestCommitDoesNotWaitForAHangingPostgres(t *testing.T) {
	t.Parallel()
	srv := pgtest.StartRestartable(t)
	app := newApp(t, restartableBackend(srv), testConfig())
	store := GetJobStore(app)
	srv.Pause()
	var job *Job
	committed := make(chan error, 1)
	go func() {
		var err error
		job, err = enqueueInTransaction(app, "t", nil)
		committed <- err
	}()
	select {
	case err := <-committed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunInTransaction did not return while PostgreSQL hung: the commit waits for the relay")
	}
	srv.Resume()
	waitFor(t, 10*time.Second, "the job to reach PostgreSQL once it answers", func() bool {
		_, err := store.Get(job.ID)
		return err == nil
	})
}
