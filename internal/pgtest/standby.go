package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// promoteLimit bounds, in seconds, the wait for a standby to become the
// primary; it is shorter than the connection's adminTimeout.
const promoteLimit = 20

// StartStandby starts a streaming replica of s, a server of StartRestartable:
// a base backup of s (pg_basebackup -R) in a temporary directory of its own,
// started as a hot standby that accepts read-only connections. s then
// waits for the standby to flush every commit before it acknowledges it
// (synchronous replication), so a commit s acknowledged survives on the
// standby whatever becomes of s. The standby is stopped and removed when the
// test ends; Promote makes it the primary.
func (s *Server) StartStandby() *Server {
	s.t.Helper()
	dir, err := tempDir()
	if err != nil {
		s.t.Fatalf("pgtest: %v", err)
	}
	c := &cluster{dir: dir}
	s.t.Cleanup(func() {
		if err := c.stop(); err != nil {
			s.t.Logf("pgtest: %v", err)
		}
	})
	standby := &Server{t: s.t, c: c, postgres: s.postgres, cred: s.cred}
	if err := standby.copyFrom(s); err != nil {
		s.t.Fatalf("pgtest: create the standby: %v", err)
	}
	if err := standby.launch(); err != nil {
		s.t.Fatalf("pgtest: start the standby: %v", err)
	}
	err = onServer(s.DSN(), func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, `ALTER SYSTEM SET synchronous_standby_names = '*'`); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, `SELECT pg_reload_conf()`)
		return err
	})
	if err != nil {
		s.t.Fatalf("pgtest: make replication synchronous: %v", err)
	}
	return standby
}

// copyFrom writes a base backup of primary into the standby's data
// directory, with the settings that make it follow primary (-R), and the
// standby's own socket directory.
func (s *Server) copyFrom(primary *Server) error {
	if s.cred != nil {
		if err := os.Chown(s.c.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("hand %s to the server's user: %w", s.c.dir, err)
		}
	}
	data := filepath.Join(s.c.dir, "data")
	cmd := exec.Command(filepath.Join(filepath.Dir(s.postgres), "pg_basebackup"),
		"--pgdata", data, "--host", primary.c.dir, "--port", strconv.Itoa(port), "--username", "postgres",
		"--write-recovery-conf", "--wal-method", "stream", "--checkpoint", "fast", "--no-sync")
	cmd.Dir = s.c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_basebackup: %w\n%s", err, out)
	}
	// The copied settings end with the primary's socket directory; those
	// appended now come later and win.
	return s.c.configure(data)
}

// Promote makes a standby of StartStandby the primary, and waits until it
// accepts writes.
func (s *Server) Promote() {
	s.t.Helper()
	err := onServer(s.DSN(), func(ctx context.Context, conn *pgx.Conn) error {
		var promoted bool
		if err := conn.QueryRow(ctx, `SELECT pg_promote(true, $1)`, promoteLimit).Scan(&promoted); err != nil {
			return err
		}
		if !promoted {
			return fmt.Errorf("not promoted within %ds", promoteLimit)
		}
		return nil
	})
	if err != nil {
		s.t.Fatalf("pgtest: promote the standby: %v\n%s", err, s.c.logTail())
	}
}

// FailoverDSN returns the DSN of the postgres database that names servers,
// in order, as the hosts of one database, with target_session_attrs =
// read-write: a connection goes to the first of them that accepts writes.
func FailoverDSN(servers ...*Server) string {
	dirs := make([]string, len(servers))
	ports := make([]string, len(servers))
	for i, s := range servers {
		dirs[i], ports[i] = s.c.dir, strconv.Itoa(port)
	}
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/postgres"}
	u.RawQuery = url.Values{
		"host":                 {strings.Join(dirs, ",")},
		"port":                 {strings.Join(ports, ",")},
		"sslmode":              {"disable"},
		"target_session_attrs": {"read-write"},
	}.Encode()
	return u.String()
}
