package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
	"github.com/pocketbase-jobs/jobs/internal/outbox"
	"github.com/pocketbase-jobs/jobs/internal/service"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// jobDB is the database the jobs live in, opened when the app bootstraps:
// the app's SQLite, or PostgreSQL with a relay for transactional enqueues.
type jobDB struct {
	drv driver.Driver
	// claimsInFlight is how many claims the dispatcher may have on their
	// way at once: one on SQLite, whose single writer would run a second
	// one after the first anyway; two on PostgreSQL, where a second claim,
	// sized to the workers that freed up meanwhile, overlaps the first
	// one's round trip, so a busy queue does not idle its workers while one
	// claim waits for the server.
	claimsInFlight int
	// relay moves transactional enqueues from the app's outbox; nil on SQLite.
	relay *service.Relay
	// listen blocks, calling onNotify for every enqueue of any process,
	// until ctx ends; nil when the database has no notifications.
	listen func(ctx context.Context, onNotify func()) error
	// release frees the database's own resources; nil when it has none.
	release func()
}

// openJobDB opens and migrates the job database configured for app.
func (p *plugin) openJobDB(ctx context.Context, app core.App) (*jobDB, error) {
	if p.config.PostgresDSN == "" {
		d := sqlitedriver.New(quiet(app.NonconcurrentDB()), quiet(app.ConcurrentDB()))
		if err := d.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("migrate the SQLite job table: %w", err)
		}
		return &jobDB{drv: d, claimsInFlight: 1, release: d.Close}, nil
	}
	return p.openPostgres(ctx, app)
}

// quiet returns db without the query log that PocketBase's dev mode (the
// default under "go run") sets on the app's connections, sharing its
// connections: otherwise the dispatcher's polling, a few statements every
// PollInterval, would flood the terminal of an idle app. Builders that are
// not a *dbx.DB, such as a transaction, are returned as they are.
func quiet(db dbx.Builder) dbx.Builder {
	d, ok := db.(*dbx.DB)
	if !ok {
		return db
	}
	c := d.Clone()
	c.LogFunc, c.QueryLogFunc, c.ExecLogFunc = nil, nil, nil
	return c
}

// close stops the relay (after a last round) and releases the database,
// until ctx ends.
func (db *jobDB) close(ctx context.Context) error {
	var errs []error
	if db.relay != nil {
		errs = append(errs, db.relay.Stop(ctx))
	}
	if db.release != nil {
		if err := service.Within(ctx, db.release); err != nil {
			errs = append(errs, fmt.Errorf("release the job database: %w", err))
		}
	}
	return errors.Join(errs...)
}

// insert stores jobs: directly, or — for a store bound to a transaction —
// in that transaction (SQLite) or in the app's outbox within it
// (PostgreSQL). It calls wakeAt with the run time of every job stored, now
// or after the commit; the relay wakes the claim loop for the jobs it
// moves from the outbox.
func (db *jobDB) insert(ctx context.Context, txApp core.App, jobs []driver.InsertParams, wakeAt func(time.Time)) ([]driver.JobRow, error) {
	wake := func() {
		for _, j := range jobs {
			wakeAt(j.RunAt)
		}
	}
	switch {
	case txApp == nil:
		rows, err := db.drv.Insert(ctx, jobs)
		if err != nil {
			return nil, err
		}
		wake()
		return rows, nil
	case db.relay != nil:
		if err := outbox.Add(ctx, txApp.NonconcurrentDB(), jobs); err != nil {
			return nil, err
		}
		onCommit(txApp, db.relay.Kick)
		return pendingRows(jobs), nil
	default:
		rows, err := sqlitedriver.New(txApp.NonconcurrentDB(), txApp.ConcurrentDB()).Insert(ctx, jobs)
		if err != nil {
			return nil, err
		}
		onCommit(txApp, wake)
		return rows, nil
	}
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

// pendingRows describes jobs as they will be stored once relayed.
func pendingRows(jobs []driver.InsertParams) []driver.JobRow {
	rows := make([]driver.JobRow, len(jobs))
	for i, j := range jobs {
		rows[i] = driver.JobRow{
			ID: j.ID, Topic: j.Topic, Payload: j.Payload, Status: driver.StatusPending,
			RunAt: j.RunAt, MaxRetries: j.MaxRetries, Created: j.Now, Updated: j.Now,
		}
	}
	return rows
}
