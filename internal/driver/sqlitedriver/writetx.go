package sqlitedriver

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pocketbase/dbx"
)

// lockSQL writes nothing, but as a write it takes SQLite's write lock, and
// waits for it as long as the connection's busy timeout allows. A
// transaction that read first would instead ask for the lock at its first
// write, and SQLite refuses at once (SQLITE_BUSY, without waiting) a read
// transaction the lock while another connection — another process — holds
// it, or SQLITE_BUSY_SNAPSHOT when another connection wrote since the read.
const lockSQL = `UPDATE _jobs SET status = status WHERE 0`

// writeTx runs fn in a transaction of the write handle, with stmts prepared
// for it, and commits; or, for a driver bound to a caller's transaction, in
// that transaction (whose statements are prepared only if the driver's
// were: a statement cannot be prepared on the handle while the caller's
// transaction holds its one connection). Either way the transaction takes
// the write lock before fn runs (lockSQL), as BEGIN IMMEDIATE would, so fn
// may read before it writes.
//
// fn gets a context that is never cancelled: once the transaction holds the
// write lock its statements wait for nothing, and each takes microseconds,
// while the SQLite driver watches every statement run under a cancellable
// context with a goroutine of its own. ctx still ends the wait for the lock
// and, through database/sql, the transaction itself.
func (d *Driver) writeTx(ctx context.Context, stmts []*statement, fn func(ctx context.Context, db *sql.DB, tx *sql.Tx) error) error {
	locked := func(db *sql.DB, tx *sql.Tx) error {
		lock, err := d.stmts.lock.in(ctx, db, tx)
		if err != nil {
			return err
		}
		if _, err := lock.ExecContext(ctx); err != nil {
			return fmt.Errorf("take the write lock: %w", err)
		}
		return fn(context.WithoutCancel(ctx), db, tx)
	}
	if _, ok := d.write.(*dbx.DB); !ok {
		tx, err := callerTx(d.write)
		if err != nil {
			return err
		}
		return locked(d.handle, tx)
	}
	for _, s := range append(stmts, &d.stmts.lock) {
		if _, err := s.prepare(ctx, d.handle); err != nil {
			return err
		}
	}
	tx, err := d.handle.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := locked(d.handle, tx); err != nil {
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
