package pgdriver_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

// TestALostConnectionEmptiesThePool: when the server ends every connection
// of the pool at once (a restart, a network cut), only the first statement
// after it fails; the pool drops the other dead connections instead of
// failing one statement on each.
func TestALostConnectionEmptiesThePool(t *testing.T) {
	const idle = 4
	dsn := pgtest.DSN(t)
	d := openMigrated(t, dsn)
	pool := pgdriver.Pool(d)
	admin, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer admin.Close(context.Background())

	// Fill the pool with idle connections, used a moment ago: pgxpool
	// pings a connection idle for more than a second before handing it
	// out, so only recently used ones would fail a statement.
	conns := make([]*pgxpool.Conn, idle)
	for i := range conns {
		if conns[i], err = pool.Acquire(t.Context()); err != nil {
			t.Fatalf("acquire: %v", err)
		}
	}
	for _, c := range conns {
		c.Release()
	}
	_, err = admin.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid != pg_backend_pid()`)
	if err != nil {
		t.Fatalf("terminate the pool's connections: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left int
		err := admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid != pg_backend_pid()`).Scan(&left)
		if err != nil {
			t.Fatalf("count connections: %v", err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after pg_terminate_backend", left)
		}
	}

	failed := 0
	for range idle {
		if _, err := d.Stats(t.Context()); err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d of %d statements after the connections were lost failed, want 1", failed, idle)
	}
	if _, err := d.Stats(t.Context()); err != nil {
		t.Errorf("a statement once the pool reconnected: %v", err)
	}
}
