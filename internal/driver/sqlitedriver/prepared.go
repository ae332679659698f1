package sqlitedriver

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// statement is one statement of the hot path (inserts, claims, outcomes),
// prepared once on the write handle — where compiling SQL on every call
// would cost more than running it — and bound to each transaction with
// Tx.StmtContext, which reuses the statement the connection prepared
// instead of compiling it again. Its SQL names its parameters SQLite's way
// (:name), bound with sql.Named. No lock is held while the statement waits
// for the writer.
type statement struct {
	sql  string
	mu   sync.Mutex
	stmt *sql.Stmt
}

// prepare prepares the statement on db, once, and returns it (with no
// handle, db nil, it prepares nothing and returns nil). It takes the write
// connection for a moment, so it runs before the transaction that uses the
// statement begins (the handle has one connection). It waits for that
// connection without holding s.mu: a transaction that holds the connection
// may be about to use the statement (in), which takes s.mu. Two callers
// may both prepare it; the second closes its own and returns the first's.
func (s *statement) prepare(ctx context.Context, db *sql.DB) (*sql.Stmt, error) {
	if db == nil {
		return nil, nil
	}
	s.mu.Lock()
	stmt := s.stmt
	s.mu.Unlock()
	if stmt != nil {
		return stmt, nil
	}
	stmt, err := db.PrepareContext(ctx, s.sql)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmt != nil {
		_ = stmt.Close()
		return s.stmt, nil
	}
	s.stmt = stmt
	return stmt, nil
}

// in returns the statement bound to tx, a transaction of db. A statement
// not prepared yet (or a driver with no database handle, db nil) is
// prepared in the transaction, for it alone.
func (s *statement) in(ctx context.Context, db *sql.DB, tx *sql.Tx) (*sql.Stmt, error) {
	s.mu.Lock()
	stmt := s.stmt
	s.mu.Unlock()
	if db == nil || stmt == nil {
		return tx.PrepareContext(ctx, s.sql)
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
