package jobs

import (
	"context"
	"fmt"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
	"github.com/pocketbase-jobs/jobs/internal/outbox"
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
	relay *relay
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

// close stops the relay (after a last round) and releases the database.
func (db *jobDB) close() {
	if db.relay != nil {
		db.relay.stop()
	}
	if db.release != nil {
		db.release()
	}
}

// insert stores jobs: directly, or — for a store bound to a transaction —
// in that transaction (SQLite) or in the app's outbox within it
// (PostgreSQL). The dispatcher is woken now or after the commit.
func (p *plugin) insert(ctx context.Context, txApp core.App, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	db, err := p.currentDB()
	if err != nil {
		return nil, err
	}
	switch {
	case txApp == nil:
		rows, err := db.drv.Insert(ctx, jobs)
		if err != nil {
			return nil, err
		}
		p.wakeFor(jobs)
		return rows, nil
	case db.relay != nil:
		if err := outbox.Add(ctx, txApp.NonconcurrentDB(), jobs); err != nil {
			return nil, err
		}
		onCommit(txApp, db.relay.afterCommit)
		return pendingRows(jobs), nil
	default:
		rows, err := sqlitedriver.New(txApp.NonconcurrentDB(), txApp.ConcurrentDB()).Insert(ctx, jobs)
		if err != nil {
			return nil, err
		}
		onCommit(txApp, func() { p.wakeFor(jobs) })
		return rows, nil
	}
}

// wakeFor wakes the dispatcher for jobs just stored whose topic has a
// handler in this process: now for runnable ones, at run_at for delayed
// ones. A job of a topic handled elsewhere, or by nobody, would only make
// it claim for nothing.
func (p *plugin) wakeFor(jobs []driver.InsertParams) {
	for _, j := range jobs {
		if p.handlers.get(j.Topic) != nil {
			p.dispatcher.wakeLater(j.RunAt)
		}
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
