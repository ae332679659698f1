package faulttest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tests"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// backend is a database the jobs can live in. Adding one is a matter of
// saying how the worker and an in-process plugin reach it, and how a test
// opens its job table.
type backend struct {
	name string
	// env points a worker process at the backend (PB_JOBS_* variables).
	env []string
	// configure points an in-process plugin at the backend.
	configure func(cfg *jobs.Config)
	// open opens the job table of the app whose pb_data is dir.
	open func(dir string) (*dbx.DB, error)
}

// eachBackend runs body once per backend, as subtests named after them.
func eachBackend(t *testing.T, body func(t *testing.T, b backend)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { body(t, sqliteBackend()) })
	t.Run("postgres", func(t *testing.T) { body(t, postgresBackend(t)) })
}

// sqliteBackend keeps the jobs in the app's own pb_data/data.db.
func sqliteBackend() backend {
	return backend{
		name:      "sqlite",
		configure: func(*jobs.Config) {},
		open: func(dir string) (*dbx.DB, error) {
			// Read-only: the test never writes what the worker owns.
			dsn := "file:" + filepath.Join(dir, "data.db") + "?mode=ro&_pragma=busy_timeout(10000)"
			return dbx.Open("sqlite", dsn)
		},
	}
}

// postgresBackend keeps the jobs in a fresh PostgreSQL database of t's own
// (from pgtest: a throwaway cluster, or the server of
// PB_JOBS_TEST_POSTGRES_DSN). It skips t when there is no server, or when
// this build of the plugin cannot use PostgreSQL yet; PB_JOBS_REQUIRE_POSTGRES=1
// turns either skip into a failure.
func postgresBackend(t *testing.T) backend {
	t.Helper()
	dsn := pgtest.DSN(t)
	requirePostgresStore(t, dsn)
	return backend{
		name:      "postgres",
		env:       []string{"PB_JOBS_POSTGRES_DSN=" + dsn},
		configure: func(cfg *jobs.Config) { cfg.PostgresDSN = dsn },
		open:      func(string) (*dbx.DB, error) { return dbx.Open("pgx", dsn) },
	}
}

// requirePostgresStore registers the plugin on a throwaway app with dsn, and
// skips t when the plugin refuses PostgreSQL as configuration it cannot use.
func requirePostgresStore(t *testing.T, dsn string) {
	t.Helper()
	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatalf("new test app: %v", err)
	}
	defer app.Cleanup()
	cfg := jobs.DefaultConfig()
	cfg.AutoStart, cfg.HTTPEnabled, cfg.PostgresDSN = false, false, dsn
	err = jobs.Register(app, cfg)
	if errors.Is(err, jobs.ErrInvalidConfig) {
		msg := fmt.Sprintf("SKIPPING POSTGRESQL VARIANT: this build of the plugin cannot keep jobs in PostgreSQL: %v", err)
		if os.Getenv(pgtest.EnvRequire) == "1" {
			t.Fatalf("%s\n%s=1 demands PostgreSQL tests.", msg, pgtest.EnvRequire)
		}
		t.Skip(msg)
	}
	if err != nil {
		t.Fatalf("register the plugin on PostgreSQL: %v", err)
	}
}
