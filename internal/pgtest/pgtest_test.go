package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestDSNGivesFreshEmptyDatabases(t *testing.T) {
	ctx := context.Background()
	seen := map[string]bool{}
	for range 2 {
		conn, err := pgx.Connect(ctx, pgtest.DSN(t))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(ctx)
		var name string
		var tables int
		err = conn.QueryRow(ctx, `SELECT current_database(),
			(SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public')`).Scan(&name, &tables)
		if err != nil {
			t.Fatalf("inspect database: %v", err)
		}
		if seen[name] {
			t.Fatalf("database %s handed out twice", name)
		}
		seen[name] = true
		if tables != 0 {
			t.Errorf("database %s has %d tables, want none", name, tables)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE t (id int)`); err != nil {
			t.Fatalf("create a table: %v", err)
		}
	}
}

// TestPauseStopsTheWholeServerUntilResume: while a server is paused, a
// connection made before does not answer (its backend is stopped too) and
// a new one is never served; after Resume both kinds work again.
func TestPauseStopsTheWholeServerUntilResume(t *testing.T) {
	srv := pgtest.StartRestartable(t)
	ctx := context.Background()
	before, err := pgx.Connect(ctx, srv.DSN())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer before.Close(ctx)
	// A query with a deadline breaks its connection: keep one that the
	// pause leaves alone, for after it.
	spare, err := pgx.Connect(ctx, srv.DSN())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer spare.Close(ctx)

	srv.Pause()
	for name, try := range map[string]func(ctx context.Context) error{
		"a query on a connection made before": func(ctx context.Context) error {
			_, err := before.Exec(ctx, `SELECT 1`)
			return err
		},
		"a new connection": func(ctx context.Context) error {
			conn, err := pgx.Connect(ctx, srv.DSN())
			if err == nil {
				conn.Close(ctx)
			}
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := try(ctx)
		cancel()
		if err == nil {
			t.Errorf("%s was served while the server was paused", name)
		}
	}

	srv.Resume()
	if _, err := spare.Exec(ctx, `SELECT 1`); err != nil {
		t.Errorf("a connection made before the pause does not work after Resume: %v", err)
	}
	after, err := pgx.Connect(ctx, srv.DSN())
	if err != nil {
		t.Fatalf("connect after Resume: %v", err)
	}
	after.Close(ctx)
}

// TestFailoverDSNFollowsThePromotedStandby: the failover DSN reaches the
// primary while it runs (the standby refuses writes), and the promoted
// standby, holding every commit the primary acknowledged, once the primary
// crashed.
func TestFailoverDSNFollowsThePromotedStandby(t *testing.T) {
	primary := pgtest.StartRestartable(t)
	standby := primary.StartStandby()
	dsn := pgtest.FailoverDSN(primary, standby)
	ctx := context.Background()
	exec := func(sql string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE TABLE t AS SELECT 1 AS id`); err != nil {
		t.Fatalf("write through the failover DSN to the primary: %v", err)
	}
	conn, err := pgx.Connect(ctx, standby.DSN())
	if err != nil {
		t.Fatalf("connect to the standby: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO t VALUES (2)`); err == nil {
		t.Error("the standby accepted a write before its promotion")
	}

	primary.Stop("immediate")
	standby.Promote()
	if err := exec(`INSERT INTO t VALUES (2)`); err != nil {
		t.Fatalf("write through the failover DSN after the promotion: %v", err)
	}
	var rows int
	if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM t`).Scan(&rows); err != nil {
		t.Fatalf("read on the promoted standby: %v", err)
	}
	if rows != 2 {
		t.Errorf("the promoted standby holds %d rows, want 2", rows)
	}
}
