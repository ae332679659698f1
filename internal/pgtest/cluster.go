package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timing of the throwaway cluster.
const (
	startLimit = 60 * time.Second
	stopLimit  = 15 * time.Second
)

// port names the Unix socket; nothing listens on TCP, so any port will do.
const port = 5432

// maxSocketPath keeps the socket path within the kernel's limit (108 bytes
// with the terminating NUL on Linux, 104 on BSDs).
const maxSocketPath = 100

// cluster is a throwaway PostgreSQL cluster in a temporary directory.
type cluster struct {
	dir    string
	server *exec.Cmd
	// exited is closed when the server process has ended.
	exited chan struct{}
}

// startCluster creates a cluster in a new temporary directory and starts
// its server. On error nothing is left behind.
func startCluster() (*cluster, error) {
	initdb, postgres, err := findBinaries()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := tempDir()
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir}
	if err := c.start(initdb, postgres, cred); err != nil {
		if stopErr := c.stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, err
	}
	return c, nil
}

// start initializes the data directory, configures and starts the server,
// and waits until it accepts connections.
func (c *cluster) start(initdb, postgres string, cred *syscall.Credential) error {
	if cred != nil {
		if err := os.Chown(c.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand %s to the server's user: %w", c.dir, err)
		}
	}
	data := filepath.Join(c.dir, "data")
	cmd := exec.Command(initdb, "--pgdata", data, "--username", "postgres", "--auth", "trust",
		"--encoding", "UTF8", "--locale", "C", "--no-sync")
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := c.configure(data); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(c.dir, "server.log"))
	if err != nil {
		return fmt.Errorf("create the server log: %w", err)
	}
	defer logFile.Close() // the server holds its own copy of the descriptor
	c.server = exec.Command(postgres, "-D", data)
	c.server.Dir = c.dir
	c.server.Stdout, c.server.Stderr = logFile, logFile
	c.server.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// Should the test binary die without stopping the server, the
		// kernel asks the server for an immediate shutdown.
		Pdeathsig: syscall.SIGQUIT,
	}
	if err := c.launch(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	return c.waitReady()
}

// configure writes the settings of a fast, private test server.
func (c *cluster) configure(data string) error {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	settings := strings.Join([]string{
		"listen_addresses = ''",
		"unix_socket_directories = " + quote(c.dir),
		"port = " + strconv.Itoa(port),
		"max_connections = 300",
		"fsync = off",
		"synchronous_commit = off",
		"full_page_writes = off",
		"logging_collector = off",
	}, "\n")
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("configure the server: %w", err)
	}
	if _, err := f.WriteString("\n" + settings + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("configure the server: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("configure the server: %w", err)
	}
	return nil
}

// launch starts the server (see launch for its parent-death signal).
func (c *cluster) launch() error {
	exited, err := launch(c.server)
	c.exited = exited
	return err
}

// waitReady polls the server until it accepts a connection.
func (c *cluster) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startLimit)
	defer cancel()
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		conn, err := pgx.Connect(ctx, c.dsn("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited at start:\n%s", c.logTail())
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections within %v: %w\n%s", startLimit, err, c.logTail())
		case <-ticker.C:
		}
	}
}

// dsn returns the DSN of database name on the cluster.
func (c *cluster) dsn(name string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + name}
	u.RawQuery = url.Values{"host": {c.dir}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}.Encode()
	return u.String()
}

// stop shuts the server down (fast shutdown, then a kill when it lingers)
// and removes the cluster's directory.
func (c *cluster) stop() error {
	terminate(c.server, c.exited, syscall.SIGINT)
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove the test cluster: %w", err)
	}
	return nil
}

// logTail returns the end of the server log, for error messages.
func (c *cluster) logTail() string {
	return logTail(filepath.Join(c.dir, "server.log"), "server")
}

// findBinaries returns the paths of initdb and postgres of one installation:
// initdb from PATH (postgres beside it, or also from PATH), or else the
// newest under the usual package directories.
func findBinaries() (initdb, postgres string, err error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if server := filepath.Join(filepath.Dir(p), "postgres"); isExecutable(server) {
			return p, server, nil
		}
		if server, err := exec.LookPath("postgres"); err == nil {
			return p, server, nil
		}
	}
	var dirs []string
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"} {
		matches, _ := filepath.Glob(pattern) // the patterns are well-formed
		dirs = append(dirs, matches...)
	}
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, dir := range dirs {
		initdb, postgres := filepath.Join(dir, "initdb"), filepath.Join(dir, "postgres")
		if isExecutable(initdb) && isExecutable(postgres) {
			return initdb, postgres, nil
		}
	}
	return "", "", errors.New("initdb and postgres not found in PATH or the usual directories")
}

// versionOf reads the major version in an installation path such as
// .../postgresql/15/bin; 0 when there is none.
func versionOf(dir string) int {
	for _, part := range strings.FieldsFunc(dir, func(r rune) bool { return r == '/' || r == '-' }) {
		if v, err := strconv.Atoi(part); err == nil {
			return v
		}
	}
	return 0
}

// isExecutable reports whether path is a regular file someone may execute.
func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}

// serverCredential returns the user to run initdb and postgres as: nil (the
// current user) unless that is root, which PostgreSQL refuses to run as; then
// the postgres user, or nobody.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, errUID := strconv.ParseUint(u.Uid, 10, 32)
		gid, errGID := strconv.ParseUint(u.Gid, 10, 32)
		if errUID != nil || errGID != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root, and there is no postgres or nobody user to run PostgreSQL as")
}

// tempDir creates the cluster's directory, short enough for the socket path.
func tempDir() (string, error) {
	socket := fmt.Sprintf("/.s.PGSQL.%d", port)
	for _, parent := range []string{os.TempDir(), "/tmp"} {
		dir, err := os.MkdirTemp(parent, "pbjobs-pg-")
		if err != nil {
			continue
		}
		if len(dir)+len(socket) <= maxSocketPath {
			return dir, nil
		}
		os.Remove(dir)
	}
	return "", errors.New("cannot create a temporary directory short enough for a Unix socket path")
}
