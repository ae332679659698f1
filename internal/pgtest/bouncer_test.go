package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

// TestBouncerPoolsInTheModeAskedFor: through a PgBouncer in session mode a
// client keeps its session state; in transaction mode it loses it as soon
// as another client holds the server connection it had. Both reach the
// same database as the direct DSN.
func TestBouncerPoolsInTheModeAskedFor(t *testing.T) {
	for _, tt := range []struct {
		mode pgtest.PoolMode
		want string // the session setting a client reads back
	}{
		{pgtest.SessionPooling, "kept"},
		{pgtest.TransactionPooling, ""},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pooled, direct := pgtest.Bouncer(t, tt.mode)
			connect := func(dsn string) *pgx.Conn {
				conn, err := pgx.Connect(ctx, dsn)
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				t.Cleanup(func() { conn.Close(ctx) })
				return conn
			}
			first, second := connect(pooled), connect(pooled)
			if _, err := first.Exec(ctx, `SELECT set_config('pbjobs.probe', 'kept', false)`); err != nil {
				t.Fatalf("set a session setting: %v", err)
			}
			// The second client takes the server connection the first one
			// used, and keeps it while the first one asks.
			tx, err := second.Begin(ctx)
			if err != nil {
				t.Fatalf("begin: %v", err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
				t.Fatalf("hold a server connection: %v", err)
			}
			var got, database string
			err = first.QueryRow(ctx, `SELECT coalesce(current_setting('pbjobs.probe', true), ''), current_database()`).
				Scan(&got, &database)
			if err != nil {
				t.Fatalf("read the session setting: %v", err)
			}
			if got != tt.want {
				t.Errorf("session setting read back as %q, want %q", got, tt.want)
			}
			var want string
			if err := connect(direct).QueryRow(ctx, `SELECT current_database()`).Scan(&want); err != nil {
				t.Fatalf("read the database directly: %v", err)
			}
			if database != want {
				t.Errorf("through PgBouncer in database %q, want %q", database, want)
			}
		})
	}
}
