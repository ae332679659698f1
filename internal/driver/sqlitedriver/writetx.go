package sqlitedriver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pocketbase/dbx"
)

// writeAttempts is how many times writeTx runs a transaction whose snapshot
// went stale (see writeTx).
const writeAttempts = 3

// writeTx runs fn in a transaction of the write handle, with stmts prepared
// for it, and commits; or, for a driver bound to a caller's transaction, in
// that transaction (whose statements are prepared only if the driver's
// were: a statement cannot be prepared on the handle while the caller's
// transaction holds its one connection). A transaction that reads before it writes (a claim with
// no outcomes to write first) fails with SQLITE_BUSY_SNAPSHOT when another
// connection — another process — wrote between its read and its first
// write; it is run again from the start, up to writeAttempts times.
func (d *Driver) writeTx(ctx context.Context, stmts []*statement, fn func(db *sql.DB, tx *sql.Tx) error) error {
	if _, ok := d.write.(*dbx.DB); !ok {
		tx, err := callerTx(d.write)
		if err != nil {
			return err
		}
		return fn(d.handle, tx)
	}
	handle := d.handle
	for _, s := range stmts {
		if err := s.prepare(ctx, handle); err != nil {
			return err
		}
	}
	var err error
	for range writeAttempts {
		if err = runTx(ctx, handle, fn); !staleSnapshot(err) {
			return err
		}
	}
	return err
}

// runTx runs fn in one transaction of handle and commits it.
func runTx(ctx context.Context, handle *sql.DB, fn func(db *sql.DB, tx *sql.Tx) error) error {
	tx, err := handle.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(handle, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// callerTx returns the database/sql transaction of a dbx transaction.
func callerTx(b dbx.Builder) (*sql.Tx, error) {
	if tx, ok := b.(*dbx.Tx); ok {
		if e, ok := tx.Builder.(interface{ Executor() dbx.Executor }); ok {
			if sqlTx, ok := e.Executor().(*sql.Tx); ok {
				return sqlTx, nil
			}
		}
	}
	return nil, fmt.Errorf("write through %T: not a database handle or transaction", b)
}

// sqliteBusySnapshot is SQLite's extended result code SQLITE_BUSY_SNAPSHOT.
const sqliteBusySnapshot = 517

// staleSnapshot tells whether err is SQLITE_BUSY_SNAPSHOT.
func staleSnapshot(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code() == sqliteBusySnapshot
}
