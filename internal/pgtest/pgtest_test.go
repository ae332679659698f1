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
