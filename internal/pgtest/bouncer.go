package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PoolMode is the pool_mode of a PgBouncer: when it hands a client's
// server connection back to its pool.
type PoolMode string

// The pool modes a test may ask for.
const (
	// SessionPooling gives a client one server connection for as long as it
	// stays connected.
	SessionPooling PoolMode = "session"
	// TransactionPooling gives a client a server connection for one
	// transaction at a time: session state (prepared statements, LISTEN)
	// does not follow the client.
	TransactionPooling PoolMode = "transaction"
)

// bouncerPort names the PgBouncer's Unix socket in its own directory;
// nothing listens on TCP.
const bouncerPort = 6432

// bouncer is a running PgBouncer in a temporary directory of its own.
type bouncer struct {
	dir string
	cmd *exec.Cmd
	// exited is closed when the PgBouncer process has ended.
	exited chan struct{}
}

// Bouncer creates a new, empty database for t as DSN does, starts a
// PgBouncer of t's own in mode in front of it, and returns two DSNs of that
// database: pooled, through the PgBouncer, and direct, to the server. The
// PgBouncer listens only on a Unix socket in a temporary directory, lets
// every user in without a password (auth_type trust, the server's user in
// its auth_file), and runs as the postgres user when the test runs as root,
// which PgBouncer refuses to run as. It is stopped before the database is
// dropped. Without a pgbouncer binary t is skipped, or fails when
// PB_JOBS_REQUIRE_POSTGRES=1.
func Bouncer(t testing.TB, mode PoolMode) (pooled, direct string) {
	t.Helper()
	binary, err := findBouncer()
	if err != nil {
		bouncerUnavailable(t, err)
	}
	direct = DSN(t)
	server, err := pgconn.ParseConfig(direct)
	if err != nil {
		t.Fatalf("pgtest: parse the test DSN: %v", err)
	}
	cred, err := serverCredential()
	if err != nil {
		bouncerUnavailable(t, err)
	}
	dir, err := tempDir()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	b := &bouncer{dir: dir}
	t.Cleanup(func() {
		if err := b.stop(); err != nil {
			t.Logf("pgtest: %v", err)
		}
	})
	if err := b.start(binary, cred, server, mode); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return b.dsn(server), direct
}

// start writes the configuration, starts PgBouncer and waits until it
// lets a client reach the server's database through it.
func (b *bouncer) start(binary string, cred *syscall.Credential, server *pgconn.Config, mode PoolMode) error {
	if cred != nil {
		if err := os.Chown(b.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand %s to the PgBouncer's user: %w", b.dir, err)
		}
	}
	config, err := b.configure(server, mode)
	if err != nil {
		return err
	}
	b.cmd = exec.Command(binary, config)
	b.cmd.Dir = b.dir
	b.cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// Should the test binary die without stopping it, the kernel
		// stops PgBouncer at once.
		Pdeathsig: syscall.SIGTERM,
	}
	if b.exited, err = launch(b.cmd); err != nil {
		return fmt.Errorf("start pgbouncer: %w", err)
	}
	return b.waitReady(server)
}

// configure writes pgbouncer.ini and the auth file into the directory and
// returns the path of pgbouncer.ini. Every database name is passed on to
// the server, as the server's user.
func (b *bouncer) configure(server *pgconn.Config, mode PoolMode) (string, error) {
	target := fmt.Sprintf("host=%s port=%d user=%s", quoteIni(server.Host), server.Port, quoteIni(server.User))
	if server.Password != "" {
		target += " password=" + quoteIni(server.Password)
	}
	auth := filepath.Join(b.dir, "users.txt")
	ini := strings.Join([]string{
		"[databases]",
		"* = " + target,
		"[pgbouncer]",
		"listen_addr =",
		"listen_port = " + strconv.Itoa(bouncerPort),
		"unix_socket_dir = " + b.dir,
		"auth_type = trust",
		"auth_file = " + auth,
		"pool_mode = " + string(mode),
		"max_client_conn = 500",
		"default_pool_size = 20",
		"logfile = " + filepath.Join(b.dir, "pgbouncer.log"),
	}, "\n") + "\n"
	// The auth file names the users PgBouncer lets in; trust checks no
	// password.
	users := fmt.Sprintf("%q %q\n", server.User, server.Password)
	if err := os.WriteFile(auth, []byte(users), 0o644); err != nil {
		return "", fmt.Errorf("write the PgBouncer auth file: %w", err)
	}
	config := filepath.Join(b.dir, "pgbouncer.ini")
	if err := os.WriteFile(config, []byte(ini), 0o644); err != nil {
		return "", fmt.Errorf("write the PgBouncer configuration: %w", err)
	}
	return config, nil
}

// quoteIni quotes a value of a connection string in pgbouncer.ini.
func quoteIni(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// waitReady polls until a query through PgBouncer reaches the server.
func (b *bouncer) waitReady(server *pgconn.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), startLimit)
	defer cancel()
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		conn, err := pgx.Connect(ctx, b.dsn(server))
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
			if err == nil {
				return nil
			}
		}
		select {
		case <-b.exited:
			return fmt.Errorf("pgbouncer exited at start:\n%s", b.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pgbouncer did not pass a connection on within %v: %w\n%s", startLimit, err, b.logTail())
		case <-ticker.C:
		}
	}
}

// dsn returns the DSN of server's database through the PgBouncer.
func (b *bouncer) dsn(server *pgconn.Config) string {
	u := url.URL{Scheme: "postgres", User: url.User(server.User), Path: "/" + server.Database}
	if server.Password != "" {
		u.User = url.UserPassword(server.User, server.Password)
	}
	u.RawQuery = url.Values{"host": {b.dir}, "port": {strconv.Itoa(bouncerPort)}, "sslmode": {"disable"}}.Encode()
	return u.String()
}

// stop shuts PgBouncer down at once (a kill when it lingers) and removes
// its directory.
func (b *bouncer) stop() error {
	terminate(b.cmd, b.exited, syscall.SIGTERM)
	if err := os.RemoveAll(b.dir); err != nil {
		return fmt.Errorf("remove the test PgBouncer: %w", err)
	}
	return nil
}

// logTail returns the end of PgBouncer's log, for error messages.
func (b *bouncer) logTail() string {
	return logTail(filepath.Join(b.dir, "pgbouncer.log"), "PgBouncer")
}

// findBouncer returns the path of pgbouncer: from PATH, or where Debian
// installs it (/usr/sbin, often not in a user's PATH).
func findBouncer() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer", "/usr/local/bin/pgbouncer"} {
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", errors.New("pgbouncer not found in PATH, /usr/sbin or /usr/local")
}

// bouncerUnavailable skips t, or fails it when the environment requires
// the PostgreSQL tests.
func bouncerUnavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("no PgBouncer for tests: %v\nInstall PgBouncer (on Debian: apt-get install pgbouncer).", err)
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s\n%s=1 demands the PostgreSQL tests.", msg, EnvRequire)
	}
	t.Skipf("SKIPPING PGBOUNCER TEST: %s", msg)
}
