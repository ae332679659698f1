// Package sqlitedriver keeps the SQL of the job table for SQLite, run through
// PocketBase's dbx builders: writes on the app's single-writer connection (or
// the caller's transaction), reads on the concurrent pool.
//
// Its SQL is laid out as pgdriver's, file by file and constant by constant,
// so the two read side by side: schema.go (migrations, Migrate), insert.go
// (insertSQL, and the job that kept one out: keyHolderSQL), claim.go
// (claimSQL and claimOneSQL, and nextRunAtSQL for the look-ahead),
// finish.go (finishOneSQL, recoverSQL), manage.go (the store's getSQL, listCountSQL and listPageSQL,
// statsSQL, deleteSQL, requeueSQL), cancel.go (cancelSQL, lostSQL),
// pause.go (pauseSQL, resumeSQL), schedule.go (tickSQL, lastTicksSQL),
// janitor.go (deleteCompletedSQL, waitingTopicsSQL) and rows.go
// (jobColumns, scanning, times). Only SQLite has prepared.go (the insert,
// prepared once), writetx.go (the driver's own write transactions, whose
// statements are prepared once and reused in each), and outbox.go: the
// outbox of a PostgreSQL job database, which lives in the app's SQLite.
package sqlitedriver

import (
	"context"
	"database/sql"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Driver implements driver.Driver for SQLite.
type Driver struct {
	write dbx.Builder
	read  dbx.Builder

	// The statements of the hot path, prepared once on first use.
	insertStmt prepared
	claimStmts claimStatements
	claimOne   statement
	finishOne  statement

	// group gathers concurrent single inserts into one write.
	group insertGroup
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver that writes through write and reads through read.
// Pass PocketBase's NonconcurrentDB and ConcurrentDB, or the same transaction
// twice to work inside that transaction.
func New(write, read dbx.Builder) *Driver {
	return &Driver{write: write, read: read, claimOne: statement{sql: claimOneSQL}, finishOne: statement{sql: finishOneSQL}}
}

// ClaimsInFlight is 1: SQLite's single writer would run a second claim
// after the first anyway.
func (d *Driver) ClaimsInFlight() int { return 1 }

// Close releases the prepared statements of the driver.
func (d *Driver) Close() {
	d.insertStmt.close()
	d.claimStmts.close()
	d.claimOne.close()
	d.finishOne.close()
}

// transactional runs fn in a transaction of d.write, or directly when d.write
// already is one.
func (d *Driver) transactional(fn func(tx dbx.Builder) error) error {
	if db, ok := d.write.(*dbx.DB); ok {
		return db.Transactional(func(tx *dbx.Tx) error { return fn(tx) })
	}
	return fn(d.write)
}

// snapshot runs fn in a read-only transaction of d.read, whose statements
// all read one snapshot of the database, or directly when d.read already is
// a transaction. A read-only transaction never takes the write lock.
func (d *Driver) snapshot(ctx context.Context, fn func(tx dbx.Builder) error) error {
	if db, ok := d.read.(*dbx.DB); ok {
		return db.TransactionalContext(ctx, &sql.TxOptions{ReadOnly: true}, func(tx *dbx.Tx) error { return fn(tx) })
	}
	return fn(d.read)
}
