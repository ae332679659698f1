package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// envPostgresDSN names a PostgreSQL server to use instead of a throwaway
// one. Its role must be allowed to create databases.
const envPostgresDSN = "PB_JOBS_BENCH_POSTGRES_DSN"

// pgServer is a PostgreSQL server that hands out fresh databases: a
// throwaway cluster this process started, or the server of envPostgresDSN.
type pgServer struct {
	// adminDSN connects to a database that always exists on the server.
	adminDSN string
	// stop shuts a throwaway cluster down and removes its files; nil for a
	// server named by the environment.
	stop func() error
	// next numbers the databases handed out.
	next atomic.Int64
}

// startPostgres returns the server of envPostgresDSN when it is set, and
// otherwise starts a throwaway cluster in a temporary directory.
func startPostgres(ctx context.Context) (*pgServer, error) {
	if dsn := strings.TrimSpace(os.Getenv(envPostgresDSN)); dsn != "" {
		if _, err := pgx.ParseConfig(dsn); err != nil {
			return nil, fmt.Errorf("%s: %w", envPostgresDSN, err)
		}
		return &pgServer{adminDSN: dsn}, nil
	}
	return startThrowaway(ctx)
}

// startThrowaway runs initdb and pg_ctl on a new temporary directory and
// starts a server that listens on a Unix socket in it only. As root, both
// programs run as the postgres user, since they refuse to run as root.
func startThrowaway(ctx context.Context) (*pgServer, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pbjobs-bench-pg-")
	if err != nil {
		return nil, fmt.Errorf("create the PostgreSQL directory: %w", err)
	}
	runAs, err := postgresRunner(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	logFile := filepath.Join(dir, "server.log")
	initdb := runAs(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	// No TCP listener: the socket in dir is the only way in.
	opts := fmt.Sprintf("-h '' -k %s -p 5432 -c max_connections=200", dir)
	start := runAs(ctx, filepath.Join(bin, "pg_ctl"), "-D", data, "-l", logFile, "-w", "-t", "60", "-o", opts, "start")
	if out, err := start.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(logFile)
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %w: %s\n%s", err, out, log)
	}
	stop := func() error {
		// A fresh context: the run's may already be cancelled.
		stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := runAs(stopCtx, filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop").CombinedOutput()
		rmErr := os.RemoveAll(dir)
		if err != nil {
			return fmt.Errorf("pg_ctl stop: %w: %s", err, out)
		}
		if rmErr != nil {
			return fmt.Errorf("remove the PostgreSQL directory: %w", rmErr)
		}
		return nil
	}
	return &pgServer{
		adminDSN: fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres sslmode=disable", dir),
		stop:     stop,
	}, nil
}

// postgresBinDir finds initdb and pg_ctl in PATH, or else in the newest
// /usr/lib/postgresql/*/bin.
func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb and pg_ctl are neither in PATH nor in /usr/lib/postgresql/*/bin " +
		"(install PostgreSQL, or set " + envPostgresDSN + ")")
}

// versionOf reads the major version out of /usr/lib/postgresql/N/bin.
func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// postgresRunner returns how to run the PostgreSQL programs on dir: directly,
// or — as root — as the postgres user, who is then made dir's owner.
func postgresRunner(dir string) (func(ctx context.Context, name string, args ...string) *exec.Cmd, error) {
	if os.Geteuid() != 0 {
		return func(ctx context.Context, name string, args ...string) *exec.Cmd {
			return exec.CommandContext(ctx, name, args...)
		}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, fmt.Errorf("give the PostgreSQL directory to postgres: %w", err)
	}
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		return nil, fmt.Errorf("running PostgreSQL as the postgres user needs runuser: %w", err)
	}
	return func(ctx context.Context, name string, args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, runuser, append([]string{"-u", "postgres", "--", name}, args...)...)
	}, nil
}

// close stops a throwaway cluster.
func (s *pgServer) close() error {
	if s == nil || s.stop == nil {
		return nil
	}
	return s.stop()
}

// freshDatabase creates an empty database and returns its DSN and a
// function that drops it.
func (s *pgServer) freshDatabase(ctx context.Context) (string, func(), error) {
	name := fmt.Sprintf("pbjobs_bench_%d_%d", os.Getpid(), s.next.Add(1))
	if err := s.admin(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	dsn, err := withDatabase(s.adminDSN, name)
	if err != nil {
		return "", nil, err
	}
	drop := func() {
		dropCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.admin(dropCtx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "warning: drop database %s: %v\n", name, err)
		}
	}
	return dsn, drop, nil
}

// admin runs one statement on the admin database.
func (s *pgServer) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.adminDSN)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns dsn (a URL or keyword/value DSN) pointed at database
// name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse the PostgreSQL URL: %w", err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	// In a keyword/value DSN a later keyword overrides an earlier one.
	return dsn + " dbname=" + name, nil
}

// execPostgres runs statements on the database of dsn, one after the other.
func execPostgres(ctx context.Context, dsn string, statements ...string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	for _, s := range statements {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%.40s…: %w", s, err)
		}
	}
	return nil
}
