package sqlitedriver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/pocketbase/dbx"
)

// statement is one statement of the driver's own write transactions
// (claims and outcomes), prepared once on the write handle and bound to
// each transaction with Tx.StmtContext, which reuses the statement the
// connection prepared instead of compiling it again. Its SQL names its
// parameters SQLite's way (:name), bound with sql.Named. No lock is held
// while the statement waits for the writer.
type statement struct {
	sql  string
	mu   sync.Mutex
	stmt *sql.Stmt
}

// prepare prepares the statement on db, once. It takes the write
// connection for a moment, so it runs before the transaction that uses the
// statement begins (the handle has one connection).
func (s *statement) prepare(ctx context.Context, db *sql.DB) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmt != nil {
		return nil
	}
	stmt, err := db.PrepareContext(ctx, s.sql)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	s.stmt = stmt
	return nil
}

// in returns the statement bound to tx. A driver bound to a caller's
// transaction has no handle of its own (db nil): the statement is prepared
// in that transaction.
func (s *statement) in(ctx context.Context, db *sql.DB, tx *sql.Tx) (*sql.Stmt, error) {
	if db == nil {
		return tx.PrepareContext(ctx, s.sql)
	}
	s.mu.Lock()
	stmt := s.stmt
	s.mu.Unlock()
	if stmt == nil {
		return nil, errors.New("statement not prepared")
	}
	return tx.StmtContext(ctx, stmt), nil
}

// close releases the statement, if it was prepared.
func (s *statement) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmt != nil {
		_ = s.stmt.Close()
		s.stmt = nil
	}
}

// writeAttempts is how many times writeTx runs a transaction whose snapshot
// went stale (see writeTx).
const writeAttempts = 3

// writeTx runs fn in a transaction of the write handle, with stmts prepared
// for it, and commits; or, for a driver bound to a caller's transaction, in
// that transaction. A transaction that reads before it writes (a claim with
// no outcomes to write first) fails with SQLITE_BUSY_SNAPSHOT when another
// connection — another process — wrote between its read and its first
// write; it is run again from the start, up to writeAttempts times.
func (d *Driver) writeTx(ctx context.Context, stmts []*statement, fn func(db *sql.DB, tx *sql.Tx) error) error {
	db, ok := d.write.(*dbx.DB)
	if !ok {
		tx, err := callerTx(d.write)
		if err != nil {
			return err
		}
		return fn(nil, tx)
	}
	handle := db.DB()
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
