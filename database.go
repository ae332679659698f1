package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
	"github.com/pocketbase-jobs/jobs/internal/service"
	"github.com/pocketbase/pocketbase/core"
)

// jobDB is the database the jobs live in, opened when the app bootstraps:
// the app's SQLite, or PostgreSQL with a relay for transactional enqueues.
type jobDB struct {
	// drv tells the realtime feed of every change it makes.
	drv driver.Driver
	// bindTx returns a driver that works inside txApp's transaction; nil
	// when the jobs live outside the app's database (PostgreSQL), which no
	// transaction of the app covers.
	bindTx func(txApp core.App) driver.Driver
	// relay moves transactional enqueues from the app's outbox; nil on SQLite.
	relay *service.Relay
	// services run while the database is open (see startServices).
	services []service.Service
}

// driverFor chooses the driver for a store bound to txApp, or for the app's
// own store when txApp is nil, and tells whether it works inside txApp's
// transaction. It does when the jobs live in the app's SQLite. With
// PostgreSQL no transaction covers both databases: the job database's own
// driver is returned, and an enqueue in txApp goes through the app's outbox
// instead (see insert).
func (db *jobDB) driverFor(txApp core.App) (drv driver.Driver, inTx bool) {
	if txApp == nil || db.bindTx == nil {
		return db.drv, false
	}
	return db.bindTx(txApp), true
}

// close stops the relay (after a last round), then the other services
// (the realtime flusher after a last flush, which tells other processes of
// what the relay moved), and releases the database, until ctx ends.
func (db *jobDB) close(ctx context.Context) error {
	var errs []error
	if db.relay != nil {
		errs = append(errs, db.relay.Stop(ctx))
	}
	for _, s := range db.services {
		errs = append(errs, s.Stop(ctx))
	}
	if err := service.Within(ctx, db.drv.Close); err != nil {
		errs = append(errs, fmt.Errorf("close the job database: %w", err))
	}
	return errors.Join(errs...)
}

// insert stores jobs through the driver driverFor chooses: directly, or —
// for a store bound to a transaction — in that transaction (SQLite) or in
// the app's outbox within it (PostgreSQL), returning then the rows the
// relay will store. It calls wakeFor with the jobs it stored, now or after
// the commit; the relay wakes the claim loop for the jobs it moves from the
// outbox.
func (db *jobDB) insert(ctx context.Context, txApp core.App, jobs []driver.InsertParams, wakeFor func([]driver.InsertParams)) ([]driver.JobRow, error) {
	drv, inTx := db.driverFor(txApp)
	if txApp != nil && !inTx {
		if err := sqlitedriver.NewOutbox(txApp.NonconcurrentDB()).Add(ctx, jobs); err != nil {
			return nil, err
		}
		onCommit(txApp, db.relay.Kick)
		rows := make([]driver.JobRow, len(jobs))
		for i, j := range jobs {
			rows[i] = j.PendingRow()
		}
		return rows, nil
	}
	rows, err := drv.Insert(ctx, jobs)
	if err != nil {
		return nil, err
	}
	if inTx {
		onCommit(txApp, func() { wakeFor(jobs) })
	} else {
		wakeFor(jobs)
	}
	return rows, nil
}

// onCommit runs fn after txApp's transaction commits, never on rollback.
func onCommit(txApp core.App, fn func()) {
	txApp.TxInfo().OnComplete(func(txErr error) error {
		if txErr == nil {
			fn()
		}
		return nil
	})
}
