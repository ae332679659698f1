// Package pgdriver keeps the SQL of the job table for PostgreSQL, run through
// a pgx connection pool. Several processes may share one job table: claims
// use FOR UPDATE SKIP LOCKED, enqueues are announced by notifications on
// the pb_jobs channel that Listen turns into wake-ups, and cancels by
// notifications on the pb_jobs_cancel channel.
//
// Its SQL is laid out as sqlitedriver's, file by file and constant by
// constant, so the two read side by side: schema.go (migrations, Migrate),
// insert.go (insertSQL, and the jobs that kept one out: insertMissingSQL,
// keptOutSQL), claim.go (claimSQL, and nextRunAtSQL for the look-ahead),
// finish.go (finishSQL, recoverSQL), manage.go (the store's getSQL,
// listCountSQL and listPageSQL, statsSQL, deleteSQL, requeueSQL), cancel.go
// (cancelSQL, lostSQL), pause.go (pauseSQL, resumeSQL), schedule.go
// (tickSQL, lastTicksSQL), janitor.go (deleteCompletedSQL,
// waitingTopicsSQL) and rows.go (jobColumns, scanning, times, errors). Only PostgreSQL has settings.go (per-statement
// settings), announce.go and listen.go (notifications), and pooler.go
// (a pooler in transaction mode, found at Open).
package pgdriver

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Channel is the LISTEN/NOTIFY channel on which Insert, Requeue and the
// resume of a paused topic announce runnable jobs, once their transaction
// has committed. Its notifications carry no payload.
const Channel = "pb_jobs"

// CancelChannel is the LISTEN/NOTIFY channel on which Cancel tells the id
// of each job it cancelled, as the payload.
const CancelChannel = "pb_jobs_cancel"

// ChangesChannel is the LISTEN/NOTIFY channel on which PublishChanges tells
// every process which jobs changed, for their realtime subscribers. Its
// payload is JSON (see changesPayload).
const ChangesChannel = "pb_jobs_changes"

// Driver implements driver.Driver for PostgreSQL.
type Driver struct {
	pool      *pgxpool.Pool
	owned     bool
	logger    *slog.Logger
	announcer *announcer
	// transactionPooled is set when Open found a pooler in transaction
	// mode between the driver and PostgreSQL; Listen then only polls.
	transactionPooled bool
}

var (
	_ driver.Driver   = (*Driver)(nil)
	_ driver.Listener = (*Driver)(nil)
)

// Option configures a Driver.
type Option func(*Driver)

// WithLogger makes the driver report outages of its notification listener to
// logger: once when the listener loses its connection (or cannot make one),
// however many reconnects fail after that, and once when it listens again.
// Without it nothing is logged.
func WithLogger(logger *slog.Logger) Option {
	return func(d *Driver) { d.logger = logger }
}

// New returns a driver that runs its statements on pool. The caller keeps
// ownership of pool: Close leaves it open.
func New(pool *pgxpool.Pool, opts ...Option) *Driver {
	d := &Driver{pool: pool, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(d)
	}
	d.announcer = newAnnouncer(pool, d.logger)
	return d
}

// CheckDSN reports whether dsn is a DSN that Open can use, without
// connecting.
func CheckDSN(dsn string) error {
	if _, err := pgxpool.ParseConfig(dsn); err != nil {
		return fmt.Errorf("parse the PostgreSQL DSN: %w", err)
	}
	return nil
}

// Open connects a pool of its own to the database at dsn (a URL or a
// keyword/value string, as pgxpool.ParseConfig accepts) and checks that the
// database answers. When a statement fails because its connection died, the
// pool drops all its connections, which likely died with it. Through a
// pooler in transaction mode (see pooledByTransaction) statements are sent
// without named prepared statements, unless the DSN sets
// default_query_exec_mode, and Listen does not listen. Close the driver to
// close the pool.
func Open(ctx context.Context, dsn string, opts ...Option) (*Driver, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse the PostgreSQL DSN: %w", err)
	}
	pooled, err := pooledByTransaction(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if pooled && !namesExecMode(dsn) {
		// Named prepared statements live on one server connection; each
		// statement is sent with its own Parse instead (its description
		// is still cached: one round trip).
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	tracer := new(lostConnTracer)
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open the PostgreSQL pool: %w", err)
	}
	tracer.pool.Store(pool)
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	d := New(pool, opts...)
	d.owned = true
	d.transactionPooled = pooled
	return d, nil
}

// ClaimsInFlight is 2: a second claim, sized to the workers that freed up
// meanwhile, overlaps the first one's round trip, so a busy queue does not
// idle its workers while one claim waits for the server.
func (d *Driver) ClaimsInFlight() int { return 2 }

// OneWriter is false: PostgreSQL writes rows concurrently, and a claim's
// time is mostly its round trip, which says nothing of a busy writer.
func (d *Driver) OneWriter() bool { return false }

// Close cancels a notification being sent, then closes the pool when Open
// created it; a pool passed to New is left to its owner. Listen calls still
// running hold their own connection and end with their context.
func (d *Driver) Close() {
	d.announcer.close()
	if d.owned {
		d.pool.Close()
	}
}
