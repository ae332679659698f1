package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase/pocketbase/core"
)

// Timing of opening the job database.
const (
	// firstOpenLimit bounds the attempt made while the app bootstraps, so
	// an unreachable PostgreSQL server cannot hold up the app's start.
	firstOpenLimit = 10 * time.Second
	// reopenLimit bounds each later attempt.
	reopenLimit = 30 * time.Second
	// maxReopenWait bounds the wait between attempts, which starts at
	// Config.PollInterval and doubles after each failure.
	maxReopenWait = 30 * time.Second
)

// connector keeps trying to open a PostgreSQL job database that could not be
// opened when the app bootstrapped, so that the app starts (and CLI commands
// that need no jobs work) while PostgreSQL is down. The plugin owns it: it
// is stopped when the app terminates or bootstraps again.
type connector struct {
	cancel context.CancelFunc
	done   chan struct{}

	// mu guards stopped, and the connector hands a database over under
	// it: none is handed over once stop began.
	mu      sync.Mutex
	stopped bool
}

// startConnector retries open until it succeeds, first after wait, then
// after a wait that doubles up to maxReopenWait, and calls opened with the
// database. The failure that made it start has been logged already; further
// failures are not logged, only the recovery is.
func startConnector(open func(ctx context.Context) (*jobDB, error), opened func(*jobDB), wait time.Duration, logger *slog.Logger) *connector {
	ctx, cancel := context.WithCancel(context.Background())
	c := &connector{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for clock.Sleep(ctx, wait) {
			attemptCtx, cancelAttempt := context.WithTimeout(ctx, reopenLimit)
			db, err := open(attemptCtx)
			cancelAttempt()
			if err == nil {
				c.handOver(db, opened, logger)
				return
			}
			wait = min(2*wait, maxReopenWait)
		}
	}()
	return c
}

// handOver calls opened with db, unless stop began meanwhile: db is closed
// then, unused.
func (c *connector) handOver(db *jobDB, opened func(*jobDB), logger *slog.Logger) {
	c.mu.Lock()
	stopped := c.stopped
	if !stopped {
		logger.Info("jobs: the job database is available; jobs work again")
		opened(db)
	}
	c.mu.Unlock()
	if stopped {
		ctx, cancel := context.WithTimeout(context.Background(), closeLimit)
		defer cancel()
		_ = db.close(ctx) // nothing was ever done with it
	}
}

// stop ends the connector, and waits for it until ctx ends. A database it
// opens after that is closed, never used.
func (c *connector) stop(ctx context.Context) error {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.cancel()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop opening the job database: %w", ctx.Err())
	}
}

// open opens (creating or upgrading) the job database of app and readies
// the store. A PostgreSQL database that cannot be opened is not an error:
// the failure is logged, the store answers ErrUnavailable, and a connector
// keeps trying in the background; once it succeeds, a dispatcher started
// meanwhile begins to work.
func (p *plugin) open(app core.App) error {
	// A connector of an earlier bootstrap is waited for, however long.
	_ = p.stopConnector(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), firstOpenLimit)
	db, err := p.openJobDB(ctx, app)
	cancel()
	if err == nil {
		p.setDB(db)
		return nil
	}
	if p.config.PostgresDSN == "" {
		return fmt.Errorf("jobs: %w", err)
	}
	app.Logger().Error("jobs: cannot open the PostgreSQL job database; the app runs without jobs and keeps trying in the background",
		"error", err)
	open := func(ctx context.Context) (*jobDB, error) { return p.openJobDB(ctx, app) }
	p.mu.Lock()
	p.unavailable = true
	p.connector = startConnector(open, p.opened, p.config.PollInterval, app.Logger())
	p.mu.Unlock()
	return nil
}

// opened readies the store with db, opened by the connector, and starts
// the dispatcher if it was started while the database was unavailable.
func (p *plugin) opened(db *jobDB) {
	p.setDB(db)
	p.dispatcher.resume()
}

// setDB makes db the store's database, closing the one it replaces (within
// closeLimit).
func (p *plugin) setDB(db *jobDB) {
	if old := p.swapDB(db); old != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeLimit)
		defer cancel()
		if err := old.close(ctx); err != nil {
			p.app.Logger().Error("jobs: closing the replaced job database failed", "error", err)
		}
	}
}

// swapDB makes db the store's database and returns the one it replaces.
func (p *plugin) swapDB(db *jobDB) *jobDB {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.db
	p.db, p.unavailable = db, false
	return old
}

// stopConnector stops a connector that is still trying, if any, until ctx
// ends.
func (p *plugin) stopConnector(ctx context.Context) error {
	p.mu.Lock()
	c := p.connector
	p.connector = nil
	p.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.stop(ctx)
}

// closeDB releases the job database and stops trying to open one, until
// ctx ends; the store is not ready until the app bootstraps again.
func (p *plugin) closeDB(ctx context.Context) error {
	err := p.stopConnector(ctx)
	if old := p.swapDB(nil); old != nil {
		err = errors.Join(err, old.close(ctx))
	}
	return err
}

// currentDB returns the open job database: ErrUnavailable while a connector
// is trying to open it, ErrNotReady before the app bootstrapped.
func (p *plugin) currentDB() (*jobDB, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.db != nil {
		return p.db, nil
	}
	if p.unavailable {
		return nil, ErrUnavailable
	}
	return nil, ErrNotReady
}
