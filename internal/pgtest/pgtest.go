// Package pgtest gives tests a fresh, empty PostgreSQL database each.
//
// The databases live on the server named by PB_JOBS_TEST_POSTGRES_DSN when
// it is set. Otherwise the first call to DSN starts a throwaway cluster for
// the whole test binary: initdb on a temporary directory, a server listening
// only on a Unix socket inside it, trust authentication and fsync off. Main
// stops it and removes the directory when the tests are done; the server is
// a child of the test binary and goes down with it even when the binary is
// killed.
//
// When neither is possible, tests that ask for a database are skipped with
// a loud message, or fail when PB_JOBS_REQUIRE_POSTGRES=1 (set it in CI).
//
// Example usage:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.DSN(t)
//		...
//	}
package pgtest

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// Environment variables that control where the test databases come from.
const (
	// EnvDSN names a server to create the test databases on, instead of a
	// throwaway cluster. Its user must be allowed to create databases.
	EnvDSN = "PB_JOBS_TEST_POSTGRES_DSN"

	// EnvRequire, set to 1, turns the skip for a missing server into a failure.
	EnvRequire = "PB_JOBS_REQUIRE_POSTGRES"
)

// server is the one PostgreSQL server of the test binary.
var server struct {
	once sync.Once
	// admin is the DSN of a database on the server to run CREATE DATABASE in.
	admin string
	// external is true for a server named by EnvDSN, whose databases must be
	// dropped after use; a throwaway cluster is removed as a whole.
	external bool
	cluster  *cluster
	err      error
}

// Main runs the tests of m, then stops the throwaway cluster if DSN started
// one, and exits with the tests' exit code. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain that has more to clean up: it runs the tests
// of m, stops the throwaway cluster if DSN started one, and returns the
// tests' exit code.
func Run(m *testing.M) int {
	code := m.Run()
	if server.cluster != nil {
		if err := server.cluster.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	return code
}

// DSN returns the DSN of a new, empty database for t. On a server named by
// EnvDSN the database is dropped when t ends.
func DSN(t testing.TB) string {
	t.Helper()
	server.once.Do(setUp)
	if server.err != nil {
		unavailable(t, server.err)
	}
	name, err := createDatabase(t, server.admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if server.external {
		t.Cleanup(func() {
			if err := dropDatabase(server.admin, name); err != nil {
				t.Logf("pgtest: %v", err)
			}
		})
	}
	dsn, err := withDatabase(server.admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// setUp finds or starts the server, once per test binary.
func setUp() {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		server.admin, server.external = dsn, true
		return
	}
	c, err := startCluster()
	if err != nil {
		server.err = err
		return
	}
	server.cluster, server.admin = c, c.dsn("postgres")
}

// unavailable skips t, or fails it when the environment requires PostgreSQL.
func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("no PostgreSQL server for tests: %v\n"+
		"Install PostgreSQL (initdb and postgres in PATH or under /usr/lib/postgresql/*/bin), "+
		"or set %s to the DSN of a server where the user may create databases.", err, EnvDSN)
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s\n%s=1 demands PostgreSQL tests.", msg, EnvRequire)
	}
	t.Skipf("SKIPPING POSTGRESQL TEST: %s", msg)
}
