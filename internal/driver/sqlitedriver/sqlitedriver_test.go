package sqlitedriver_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
	"github.com/pocketbase-jobs/jobs/internal/drivertest"
)

// pragmas are the connection settings PocketBase gives its data.db.
const pragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
	"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)"

func TestConformance(t *testing.T) {
	drivertest.Exercise(t, func(t *testing.T) driver.Driver {
		write, read := openDB(t)
		return sqlitedriver.New(write, read)
	})
}

// TestInsertInTransaction: a driver bound to a caller's transaction writes
// in it, so its jobs commit or roll back with the caller's own writes.
func TestInsertInTransaction(t *testing.T) {
	write, read := openDB(t)
	parent := sqlitedriver.New(write, read)
	if err := parent.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	// A driver of its own in the transaction, and one bound to it by the
	// job database's driver, sharing its prepared statements.
	binds := map[string]func(tx *dbx.Tx) *sqlitedriver.Driver{
		"New":           func(tx *dbx.Tx) *sqlitedriver.Driver { return sqlitedriver.New(tx, tx) },
		"InTransaction": func(tx *dbx.Tx) *sqlitedriver.Driver { return parent.InTransaction(tx, tx) },
	}
	for name, bind := range binds {
		for _, commit := range []bool{false, true} {
			insertInTransaction(t, write, read, bind, fmt.Sprintf("%s-commit-%v", name, commit), commit)
		}
	}
}

// insertInTransaction inserts the job id through the driver bind binds to
// a transaction of write, sees it there, commits or rolls back, and checks
// that the job was stored or not.
func insertInTransaction(t *testing.T, write, read *dbx.DB, bind func(tx *dbx.Tx) *sqlitedriver.Driver, id string, commit bool) {
	t.Helper()
	err := write.Transactional(func(tx *dbx.Tx) error {
		d := bind(tx)
		now := time.Now()
		_, err := d.Insert(t.Context(), []driver.InsertParams{{ID: id, Topic: "t", Payload: []byte(`{}`), RunAt: now, Now: now}})
		if err != nil {
			return err
		}
		if _, err := d.Get(t.Context(), driver.GetParams{ID: id}); err != nil {
			return fmt.Errorf("job not visible inside its transaction: %w", err)
		}
		if !commit {
			return errRollback
		}
		return nil
	})
	if err != nil && !errors.Is(err, errRollback) {
		t.Fatalf("transaction: %v", err)
	}
	_, err = sqlitedriver.New(write, read).Get(t.Context(), driver.GetParams{ID: id})
	if commit && err != nil {
		t.Errorf("committed job: %v", err)
	}
	if !commit && !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("rolled back job: got %v, want ErrNotFound", err)
	}
}

var errRollback = errors.New("roll back")

// openDB opens a new database file the way PocketBase opens data.db: a
// single-connection handle for writes and a pool for reads.
func openDB(t *testing.T) (write, read *dbx.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.db") + pragmas
	write, err := dbx.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open the write handle: %v", err)
	}
	write.DB().SetMaxOpenConns(1)
	read, err = dbx.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open the read handle: %v", err)
	}
	read.DB().SetMaxOpenConns(8)
	t.Cleanup(func() {
		_ = read.Close()
		_ = write.Close()
	})
	return write, read
}
