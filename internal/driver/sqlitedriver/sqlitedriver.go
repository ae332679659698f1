// Package sqlitedriver keeps the SQL of the job table for SQLite, run through
// PocketBase's dbx builders: writes on the app's single-writer connection (or
// the caller's transaction), reads on the concurrent pool.
//
// Its SQL is laid out as pgdriver's, file by file and constant by constant,
// so the two read side by side: schema.go (migrations, Migrate), insert.go
// (insertSQL, and the job that kept one out: keyHolderSQL), claim.go
// (claimSQL and claimOneSQL, and nextRunAtSQL for the look-ahead),
// finish.go (finishOneSQL, recoverSQL), manage.go (the store's getSQL,
// listCountSQL and listPageSQL, statsSQL, deleteSQL, requeueSQL), cancel.go
// (cancelSQL, lostSQL),
// pause.go (pauseSQL, resumeSQL), schedule.go (tickSQL, lastTicksSQL),
// janitor.go (deleteCompletedSQL, waitingTopicsSQL) and rows.go
// (jobColumns, scanning, times). Only SQLite has prepared.go (statements
// of the hot path prepared once and reused in every transaction),
// writetx.go (the driver's own write transactions), group.go (concurrent
// single inserts written together), and outbox.go: the outbox of a
// PostgreSQL job database, which lives in the app's SQLite.
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
	// handle is the write handle's database, on which the statements are
	// prepared: nil for a driver bound to a transaction on its own.
	handle *sql.DB
	// stmts are the statements of the hot path, prepared once and shared
	// with the drivers bound to transactions (InTransaction).
	stmts *statements
	// group gathers concurrent single inserts into one write.
	group insertGroup
}

var _ driver.Driver = (*Driver)(nil)

// statements are the statements of the hot path, each prepared once.
type statements struct {
	insert, claimOne, finishOne, lock statement
	// claims holds the claim statement of each number of topics seen.
	claims claimStatements
}

// New returns a driver that writes through write and reads through read.
// Pass PocketBase's NonconcurrentDB and ConcurrentDB, or the same transaction
// twice to work inside that transaction.
func New(write, read dbx.Builder) *Driver {
	d := &Driver{write: write, read: read, stmts: &statements{
		insert:    statement{sql: insertSQL},
		claimOne:  statement{sql: claimOneSQL},
		finishOne: statement{sql: finishOneSQL},
		lock:      statement{sql: lockSQL},
	}}
	if db, ok := write.(*dbx.DB); ok {
		d.handle = db.DB()
	}
	return d
}

// InTransaction returns a driver that works inside the transaction of
// write and read (the same transaction twice) of d's database, and uses
// d's prepared statements there instead of compiling its own.
func (d *Driver) InTransaction(write, read dbx.Builder) *Driver {
	return &Driver{write: write, read: read, handle: d.handle, stmts: d.stmts}
}

// ClaimsInFlight is 3. SQLite's single writer runs claims one after
// another, and a claim binds its workers only once it holds the writer
// (late claims, see driver.ClaimParams.Bind), so more claims than one wait
// at once only while the app's writes keep the writer busy: each waiting
// claim is one more turn for the queue among the app's writers.
func (d *Driver) ClaimsInFlight() int { return 3 }

// OneWriter is true: SQLite has one writer, which the app's own writes
// queue for too.
func (d *Driver) OneWriter() bool { return true }

// Close releases the prepared statements of the driver, and of the
// drivers bound to its transactions.
func (d *Driver) Close() {
	d.stmts.insert.close()
	d.stmts.claimOne.close()
	d.stmts.finishOne.close()
	d.stmts.lock.close()
	d.stmts.claims.close()
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
