package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// riverQueue is a River client with one queue of `workers` workers, with
// River's default settings or tuned for latency (FetchCooldown 1ms,
// FetchPollInterval 10ms).
type riverQueue[TTx any] struct {
	client  *river.Client[TTx]
	handler handlerFunc
	// exec runs statements on the client's database.
	exec func(ctx context.Context, statements ...string) error
	// release closes the database.
	release func()
	started bool
}

// openRiverSQLite opens River on a SQLite file with riversqlite over
// database/sql, on one connection as River's SQLite driver recommends.
func openRiverSQLite(tuned bool) func(ctx context.Context, t target) (queue, error) {
	return func(ctx context.Context, t target) (queue, error) {
		db, err := openSQLite(t.dir, "river.db")
		if err != nil {
			return nil, err
		}
		exec := func(ctx context.Context, statements ...string) error {
			for _, s := range statements {
				if _, err := db.ExecContext(ctx, s); err != nil {
					return err
				}
			}
			return nil
		}
		q, err := newRiverQueue(ctx, riversqlite.New(db), tuned, exec, func() { db.Close() })
		if err != nil {
			db.Close()
			return nil, err
		}
		return q, nil
	}
}

// openRiverPostgres opens River on PostgreSQL with riverpgxv5 and a pgx
// pool of default size.
func openRiverPostgres(tuned bool) func(ctx context.Context, t target) (queue, error) {
	return func(ctx context.Context, t target) (queue, error) {
		pool, err := pgxpool.New(ctx, t.dsn)
		if err != nil {
			return nil, fmt.Errorf("open the pgx pool: %w", err)
		}
		exec := func(ctx context.Context, statements ...string) error {
			return execPostgres(ctx, t.dsn, append(statements, `VACUUM ANALYZE river_job`)...)
		}
		q, err := newRiverQueue(ctx, riverpgxv5.New(pool), tuned, exec, pool.Close)
		if err != nil {
			pool.Close()
			return nil, err
		}
		return q, nil
	}
}

// newRiverQueue migrates River's tables and creates its client.
func newRiverQueue[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], tuned bool,
	exec func(context.Context, ...string) error, release func()) (*riverQueue[TTx], error) {
	migrator, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: quietLogger()})
	if err != nil {
		return nil, fmt.Errorf("river migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("river migrate: %w", err)
	}
	q := &riverQueue[TTx]{exec: exec, release: release}
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[noopArgs]) error {
		q.handler.call()
		return nil
	}))
	cfg := &river.Config{
		Logger:  quietLogger(),
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workersPerQueue}},
		Workers: workers,
	}
	if tuned {
		cfg.FetchCooldown = time.Millisecond
		cfg.FetchPollInterval = 10 * time.Millisecond
	}
	q.client, err = river.NewClient(drv, cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return q, nil
}

// workersPerQueue is River's MaxWorkers for its single queue.
const workersPerQueue = workers

// quietLogger logs errors only, to stderr.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

func (q *riverQueue[TTx]) enqueue(ctx context.Context) error {
	_, err := q.client.Insert(ctx, noopArgs{N: 1}, nil)
	return err
}

func (q *riverQueue[TTx]) enqueueBatch(ctx context.Context, n int) error {
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{N: 1}}
	}
	_, err := q.client.InsertManyFast(ctx, params)
	return err
}

func (q *riverQueue[TTx]) start(ctx context.Context, run func()) error {
	q.handler.set(run)
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("start the river client: %w", err)
	}
	q.started = true
	return nil
}

func (q *riverQueue[TTx]) stop(ctx context.Context) error {
	if !q.started {
		return nil
	}
	q.started = false
	// Stop gracefully even when the run is being interrupted.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return q.client.Stop(ctx)
}

// completeAll updates River's river_job table directly; a finalized job
// needs finalized_at.
func (q *riverQueue[TTx]) completeAll(ctx context.Context) error {
	return q.exec(ctx, `UPDATE river_job SET state = 'completed', attempt = 1,
		attempted_at = created_at, finalized_at = created_at`)
}

func (q *riverQueue[TTx]) close() error {
	err := q.stop(context.Background())
	q.release()
	return err
}

// Compile-time checks that both River flavours are queues.
var (
	_ queue = (*riverQueue[pgx.Tx])(nil)
	_ queue = (*riverQueue[*sql.Tx])(nil)
)
