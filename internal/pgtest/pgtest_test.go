package pgtest_test

import (
	"context"
	"testing"

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
