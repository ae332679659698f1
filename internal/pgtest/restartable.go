package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a PostgreSQL server of one test's own, which the test may stop
// and start again. Unlike the shared cluster behind DSN, restarting it
// disturbs no other test.
type Server struct {
	t        testing.TB
	c        *cluster
	postgres string
	cred     *syscall.Credential
	// paused is set between Pause and Resume.
	paused bool
}

// StartRestartable starts a throwaway cluster for t alone, set up like the
// shared one (a Unix socket in a temporary directory, trust authentication,
// fsync off, run as the postgres user when the test runs as root). It is
// stopped and removed when t ends. Without PostgreSQL binaries t is skipped,
// or fails when PB_JOBS_REQUIRE_POSTGRES=1.
func StartRestartable(t testing.TB) *Server {
	t.Helper()
	initdb, postgres, err := findBinaries()
	if err != nil {
		unavailable(t, err)
	}
	cred, err := serverCredential()
	if err != nil {
		unavailable(t, err)
	}
	dir, err := tempDir()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	c := &cluster{dir: dir}
	t.Cleanup(func() {
		if err := c.stop(); err != nil {
			t.Logf("pgtest: %v", err)
		}
	})
	if err := c.start(initdb, postgres, cred); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// The shared cluster acknowledges commits before their WAL is written,
	// so an immediate shutdown would lose transactions it had confirmed: a
	// loss of the test server's, not of the code under test. fsync stays
	// off: a stopped server loses nothing the kernel holds.
	err = onServer(c.dsn("postgres"), func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, `ALTER SYSTEM SET synchronous_commit = on`); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, `SELECT pg_reload_conf()`)
		return err
	})
	if err != nil {
		t.Fatalf("pgtest: make commits durable: %v", err)
	}
	return &Server{t: t, c: c, postgres: postgres, cred: cred}
}

// DSN returns the DSN of the server's postgres database.
func (s *Server) DSN() string { return s.c.dsn("postgres") }

// Restart stops the server in mode "smart", "fast" or "immediate" (the
// modes of pg_ctl stop, sent as the same signals), starts it again on the
// same data directory, and waits until it accepts connections. It returns
// how long the server was down: from the stop signal until it was ready.
func (s *Server) Restart(mode string) time.Duration {
	s.t.Helper()
	start := time.Now()
	s.Stop(mode)
	s.Start()
	return time.Since(start)
}

// Stop stops the server in mode "smart", "fast" or "immediate" and waits
// until it has exited. Start it again with Start.
func (s *Server) Stop(mode string) {
	s.t.Helper()
	signals := map[string]syscall.Signal{
		"smart":     syscall.SIGTERM,
		"fast":      syscall.SIGINT,
		"immediate": syscall.SIGQUIT,
	}
	sig, ok := signals[mode]
	if !ok {
		s.t.Fatalf("pgtest: unknown shutdown mode %q", mode)
	}
	if err := s.c.server.Process.Signal(sig); err != nil {
		s.t.Fatalf("pgtest: stop the server (%s): %v", mode, err)
	}
	select {
	case <-s.c.exited:
	case <-time.After(stopLimit):
		s.t.Fatalf("pgtest: the server did not stop (%s) within %v\n%s", mode, stopLimit, s.c.logTail())
	}
}

// Start starts a server stopped by Stop again on the same data directory,
// and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.launch(); err != nil {
		s.t.Fatalf("pgtest: restart the server: %v", err)
	}
}

// launch starts the server again on the existing data directory, appending
// to its log, and waits until it accepts connections.
func (s *Server) launch() error {
	logFile, err := os.OpenFile(filepath.Join(s.c.dir, "server.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open the server log: %w", err)
	}
	defer logFile.Close() // the server holds its own copy of the descriptor
	s.c.server = exec.Command(s.postgres, "-D", filepath.Join(s.c.dir, "data"))
	s.c.server.Dir = s.c.dir
	s.c.server.Stdout, s.c.server.Stderr = logFile, logFile
	s.c.server.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT}
	if err := s.c.launch(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	return s.c.waitReady()
}

// Pause stops the server's processes with SIGSTOP, as a server that hangs
// would: connections stay open but nothing answers, and new connections are
// accepted by the kernel but never served. Resume ends it; so does the end
// of the test.
func (s *Server) Pause() {
	s.t.Helper()
	s.signalAll(syscall.SIGSTOP)
	if !s.paused {
		s.paused = true
		s.t.Cleanup(func() {
			if s.paused {
				s.Resume()
			}
		})
	}
}

// Resume lets a server stopped by Pause go on.
func (s *Server) Resume() {
	s.t.Helper()
	s.signalAll(syscall.SIGCONT)
	s.paused = false
}

// signalAll sends sig to the postmaster, then to every process it forked.
// A signal to the postmaster's process group would not do: each backend
// starts a session of its own. Once SIGSTOP reached the postmaster it forks
// no more, so the children read then are all of them.
func (s *Server) signalAll(sig syscall.Signal) {
	s.t.Helper()
	postmaster := s.c.server.Process.Pid
	if err := syscall.Kill(postmaster, sig); err != nil {
		s.t.Fatalf("pgtest: send %v to the server: %v", sig, err)
	}
	children, err := childrenOf(postmaster)
	if err != nil {
		s.t.Fatalf("pgtest: find the server's processes: %v", err)
	}
	for _, pid := range children {
		// A child that has just exited cannot be signalled, nor needs it.
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			s.t.Fatalf("pgtest: send %v to server process %d: %v", sig, pid, err)
		}
	}
}

// childrenOf returns the processes whose parent is pid, read from /proc.
func childrenOf(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var children []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it exited meanwhile
		}
		// The fields after the command, which is in parentheses and may
		// hold spaces: state, then the parent's pid.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			children = append(children, child)
		}
	}
	return children, nil
}

// LogTail returns the end of the server's log, for failure messages.
func (s *Server) LogTail() string { return s.c.logTail() }
