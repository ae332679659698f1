package pgdriver_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

// TestInsertsOfKeysInEitherOrderDoNotDeadlock: two inserts of batches of
// the same unique keys, one in the reverse order of the other, both waiting
// for a transaction that holds one of the keys, both succeed when it rolls
// back: the first stores every job, the second returns them as
// duplicates. Inserted in the order given, each would hold keys the other
// waits for, and PostgreSQL would end one of them as deadlocked.
func TestInsertsOfKeysInEitherOrderDoNotDeadlock(t *testing.T) {
	dsn := pgtest.DSN(t)
	d := openMigrated(t, dsn)
	now := time.Now()
	batch := func(name string, reverse bool) []driver.InsertParams {
		jobs := make([]driver.InsertParams, 10)
		for k := range jobs {
			jobs[k] = driver.InsertParams{ID: fmt.Sprint(name, k), Topic: "t", Payload: []byte(`{}`),
				RunAt: now, UniqueKey: fmt.Sprint("K", k), Now: now}
		}
		if reverse {
			slices.Reverse(jobs)
		}
		return jobs
	}

	blocker, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer blocker.Close(context.Background())
	tx, err := blocker.Begin(t.Context())
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	_, err = tx.Exec(t.Context(), `INSERT INTO _jobs (id, topic, payload, run_at, unique_key, created, updated)
		VALUES ('blocker', 't', '{}', now(), 'K5', now(), now())`)
	if err != nil {
		t.Fatalf("hold the key K5: %v", err)
	}

	type result struct {
		rows []driver.JobRow
		err  error
	}
	results := make(chan result, 2)
	insert := func(jobs []driver.InsertParams) {
		go func() {
			rows, err := d.Insert(t.Context(), jobs)
			results <- result{rows, err}
		}()
	}
	insert(batch("first", false))
	waitForLockWaits(t, d, 1)
	insert(batch("second", true))
	waitForLockWaits(t, d, 2)
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatalf("roll back: %v", err)
	}

	inserted := 0
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("Insert: %v", r.err)
		}
		for _, row := range r.rows {
			if !row.Duplicate {
				inserted++
			}
		}
	}
	if inserted != 10 {
		t.Fatalf("%d jobs inserted, want one per key", inserted)
	}
}

// waitForLockWaits returns once n statements of the database of d wait for
// a lock, or fails t after a deadline.
func waitForLockWaits(t *testing.T, d *pgdriver.Driver, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		err := pgdriver.Pool(d).QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatalf("count the statements waiting for a lock: %v", err)
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d statements wait for a lock, want %d", waiting, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
