package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
)

// env hands out fresh targets: directories under one temporary root, and
// databases on one PostgreSQL server.
type env struct {
	root string
	pg   *pgServer
	next int
}

// newEnv creates the temporary root and, when needed, the PostgreSQL server.
func newEnv(ctx context.Context, withPostgres bool) (*env, error) {
	root, err := os.MkdirTemp("", "pbjobs-bench-")
	if err != nil {
		return nil, fmt.Errorf("create the temporary directory: %w", err)
	}
	e := &env{root: root}
	if withPostgres {
		fmt.Fprintln(os.Stderr, "starting PostgreSQL…")
		if e.pg, err = startPostgres(ctx); err != nil {
			os.RemoveAll(root)
			return nil, fmt.Errorf("PostgreSQL: %w", err)
		}
	}
	return e, nil
}

// fresh returns a new empty target on db and a function that removes it.
func (e *env) fresh(ctx context.Context, db string) (target, func(), error) {
	e.next++
	dir := filepath.Join(e.root, fmt.Sprint(e.next))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return target{}, nil, fmt.Errorf("create a target directory: %w", err)
	}
	removeDir := func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(os.Stderr, "warning:", err)
		}
	}
	if db == dbSQLite {
		return target{dir: dir}, removeDir, nil
	}
	if e.pg == nil {
		removeDir()
		return target{}, nil, errors.New("no PostgreSQL server")
	}
	dsn, drop, err := e.pg.freshDatabase(ctx)
	if err != nil {
		removeDir()
		return target{}, nil, err
	}
	return target{dir: dir, dsn: dsn}, func() { drop(); removeDir() }, nil
}

// close stops the PostgreSQL server and removes the temporary root.
func (e *env) close() error {
	return errors.Join(e.pg.close(), os.RemoveAll(e.root))
}

// closeWarning closes e, printing a failure as a warning on stderr: for a
// deferred close at the end of a measurement.
func (e *env) closeWarning() {
	if err := e.close(); err != nil {
		fmt.Fprintln(os.Stderr, "warning:", err)
	}
}

// machine describes the CPU, cores and Go of this machine.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS %d), %s/%s, %s",
		cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// postgresVersion returns the server's version line, or why it is unknown.
func (e *env) postgresVersion(ctx context.Context) string {
	if e.pg == nil {
		return ""
	}
	conn, err := pgx.Connect(ctx, e.pg.adminDSN)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&v); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	origin := "a throwaway cluster (initdb defaults, max_connections 200)"
	if e.pg.stop == nil {
		origin = "the server of " + envPostgresDSN
	}
	return "PostgreSQL " + v + ", " + origin
}
