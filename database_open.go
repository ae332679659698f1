package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
	"github.com/pocketbase-jobs/jobs/internal/service"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// clockSyncEvery is how often a process reads the PostgreSQL server's clock
// to correct its own: often enough that a drifting or stepped machine clock
// is followed within seconds, for one cheap statement.
const clockSyncEvery = 15 * time.Second

// openJobDB opens and migrates the job database configured for app.
func (p *plugin) openJobDB(ctx context.Context, app core.App) (*jobDB, error) {
	if p.config.PostgresDSN == "" {
		d := sqlitedriver.New(quiet(app.NonconcurrentDB()), quiet(app.ConcurrentDB()))
		if err := d.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("migrate the SQLite job table: %w", err)
		}
		db := &jobDB{drv: observe(d, p.feed.note), bindTx: func(txApp core.App) driver.Driver { return p.bindSQLiteTx(d, txApp) }}
		p.startServices(app, db, d)
		return db, nil
	}
	return p.openPostgres(ctx, app)
}

// bindSQLiteTx returns the SQLite driver of txApp's transaction, which
// uses the prepared statements of the job database's driver d and tells
// the realtime feed of its changes once the transaction commits. Its
// statements stay in the dev-mode query log, with the rest of the
// transaction's.
func (p *plugin) bindSQLiteTx(d *sqlitedriver.Driver, txApp core.App) driver.Driver {
	d = d.InTransaction(txApp.NonconcurrentDB(), txApp.ConcurrentDB())
	return observe(d, func(c driver.Changes) { onCommit(txApp, func() { p.feed.note(c) }) })
}

// startServices starts the services of db that run as long as it is open,
// whether or not the dispatcher runs: the realtime feed's flusher; when raw
// (db's unobserved driver) is a driver.Listener, the one listener of the
// process's notifications — of runnable jobs (for the claim loop), cancels
// (for the running handlers) and, with HTTPEnabled, other processes' job
// changes (for the feed); and when raw is a driver.ServerClock, the service that keeps the
// plugin's clock corrected to the server's.
func (p *plugin) startServices(app core.App, db *jobDB, raw driver.Driver) {
	listener, _ := raw.(driver.Listener)
	db.services = []service.Service{service.NewFlusher(service.FlusherConfig{
		Ready:    p.feed.ready,
		Interval: realtimeInterval,
		Flush:    func(ctx context.Context) { p.feed.flush(ctx, raw, listener) },
	})}
	if listener != nil {
		notifications := driver.ListenParams{OnNotify: p.waker.Wake, OnCancel: p.dispatcher.cancel}
		if p.feed.deliver { // a process without realtime subscribers ignores other processes' changes
			notifications.OnChanges = p.feed.received
		}
		db.services = append(db.services, service.NewListener(listener, notifications, app.Logger()))
	}
	if server, ok := raw.(driver.ServerClock); ok {
		db.services = append(db.services, service.NewClockSync(server, &p.clock, clockSyncEvery))
	}
	for _, s := range db.services {
		s.Start()
	}
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

// openPostgres opens and migrates the PostgreSQL job database, creates the
// app's outbox for transactional enqueues and starts its relay.
func (p *plugin) openPostgres(ctx context.Context, app core.App) (*jobDB, error) {
	pg, err := pgdriver.Open(ctx, p.config.PostgresDSN, pgdriver.WithLogger(app.Logger()))
	if err != nil {
		return nil, fmt.Errorf("open the PostgreSQL job database: %w", err)
	}
	if err := pg.Migrate(ctx); err != nil {
		pg.Close()
		return nil, fmt.Errorf("migrate the PostgreSQL job table: %w", err)
	}
	if err := sqlitedriver.NewOutbox(app.NonconcurrentDB()).Migrate(ctx); err != nil {
		pg.Close()
		return nil, err
	}
	if err := service.SyncClock(ctx, pg, &p.clock); err != nil {
		app.Logger().Warn("jobs: cannot read the PostgreSQL server's clock; following this machine's until it can", "error", err)
	}
	observed := observe(pg, p.feed.note)
	db := &jobDB{drv: observed, relay: p.startRelay(app, observed)}
	p.startServices(app, db, pg)
	return db, nil
}

// startRelay starts the relay of transactional enqueues from app's outbox
// to the job database of drv.
func (p *plugin) startRelay(app core.App, drv driver.Driver) *service.Relay {
	r := service.NewRelay(service.RelayConfig{
		Outbox: sqlitedriver.NewOutbox(quiet(app.NonconcurrentDB())),
		Driver: drv,
		Logger: app.Logger(),
		Clock:  &p.clock,
		Check:  checkRow,
		Moved:  p.waker.Wake,
		Every:  p.config.PollInterval,
	})
	r.Start()
	return r
}
