package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// rawIdlePoll is how long a raw-SQL worker waits after finding no job.
const rawIdlePoll = time.Millisecond

// rawOps are the statements of a raw-SQL queue: the floor of what any
// SQL job queue has to do, with nothing around it.
type rawOps struct {
	// claim locks up to limit runnable jobs in one statement.
	claim func(ctx context.Context, limit int) ([]int64, error)
	// complete marks ids completed in one statement.
	complete func(ctx context.Context, ids []int64) error
}

// rawWorkers are `workers` goroutines, each claiming up to batch jobs per
// statement, running them, and completing them in one statement.
type rawWorkers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startRawWorkers starts the workers; stop them with stop.
func startRawWorkers(ops rawOps, batch int, run func()) *rawWorkers {
	ctx, cancel := context.WithCancel(context.Background())
	w := &rawWorkers{cancel: cancel}
	for range workers {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.loop(ctx, ops, batch, run)
		}()
	}
	return w
}

func (w *rawWorkers) loop(ctx context.Context, ops rawOps, batch int, run func()) {
	idle := time.NewTimer(rawIdlePoll)
	defer idle.Stop()
	for ctx.Err() == nil {
		ids, err := ops.claim(ctx, batch)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "raw SQL claim: %v\n", err)
		}
		if len(ids) == 0 {
			idle.Reset(rawIdlePoll)
			select {
			case <-ctx.Done():
			case <-idle.C:
			}
			continue
		}
		for range ids {
			run()
		}
		// Claimed jobs are completed even when stopping.
		if err := ops.complete(context.WithoutCancel(ctx), ids); err != nil {
			fmt.Fprintf(os.Stderr, "raw SQL complete: %v\n", err)
		}
	}
}

// stop cancels the workers and waits for them.
func (w *rawWorkers) stop() {
	if w == nil {
		return
	}
	w.cancel()
	w.wg.Wait()
}

// rawSQLite is the raw-SQL floor on SQLite, on one connection.
type rawSQLite struct {
	db      *sql.DB
	batch   int
	workers *rawWorkers
}

const rawSQLiteSchema = `
CREATE TABLE IF NOT EXISTS jobs (
	id           INTEGER PRIMARY KEY,
	topic        TEXT NOT NULL,
	payload      TEXT NOT NULL,
	status       TEXT NOT NULL DEFAULT 'pending',
	run_at       INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	locked_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_runnable_idx ON jobs (run_at) WHERE status = 'pending';`

// openRawSQLite returns the raw floor that handles batch jobs per statement.
func openRawSQLite(batch int) func(ctx context.Context, t target) (queue, error) {
	return func(ctx context.Context, t target) (queue, error) {
		db, err := openSQLite(t.dir, "raw.db")
		if err != nil {
			return nil, err
		}
		if _, err := db.ExecContext(ctx, rawSQLiteSchema); err != nil {
			db.Close()
			return nil, fmt.Errorf("create the raw table: %w", err)
		}
		return &rawSQLite{db: db, batch: batch}, nil
	}
}

func (r *rawSQLite) enqueue(ctx context.Context) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO jobs (topic, payload, run_at) VALUES (?, ?, ?)`,
		topic, string(payload), time.Now().UnixMicro())
	return err
}

// enqueueBatch inserts n jobs in one transaction, r.batch rows per statement.
func (r *rawSQLite) enqueueBatch(ctx context.Context, n int) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	now := time.Now().UnixMicro()
	for done := 0; done < n; {
		rows := min(r.batch, n-done)
		sql := `INSERT INTO jobs (topic, payload, run_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", rows), ", ")
		args := make([]any, 0, 3*rows)
		for range rows {
			args = append(args, topic, string(payload), now)
		}
		if _, err := tx.ExecContext(ctx, sql, args...); err != nil {
			return errors.Join(err, tx.Rollback())
		}
		done += rows
	}
	return tx.Commit()
}

func (r *rawSQLite) ops() rawOps {
	return rawOps{
		claim: func(ctx context.Context, limit int) ([]int64, error) {
			now := time.Now()
			rows, err := r.db.QueryContext(ctx, `UPDATE jobs
				SET status = 'processing', attempts = attempts + 1, locked_until = ?
				WHERE id IN (
					SELECT id FROM jobs WHERE status = 'pending' AND run_at <= ? ORDER BY run_at LIMIT ?
				)
				RETURNING id`, now.Add(5*time.Minute).UnixMicro(), now.UnixMicro(), limit)
			if err != nil {
				return nil, err
			}
			return scanIDs(rows)
		},
		complete: func(ctx context.Context, ids []int64) error {
			args := make([]any, len(ids))
			for i, id := range ids {
				args[i] = id
			}
			_, err := r.db.ExecContext(ctx, `UPDATE jobs SET status = 'completed', locked_until = 0 WHERE id IN (`+
				strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+`)`, args...)
			return err
		},
	}
}

// scanIDs reads a column of ids.
func scanIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (r *rawSQLite) start(ctx context.Context, run func()) error {
	r.workers = startRawWorkers(r.ops(), r.batch, run)
	return nil
}

func (r *rawSQLite) stop(ctx context.Context) error {
	r.workers.stop()
	r.workers = nil
	return nil
}

func (r *rawSQLite) completeAll(ctx context.Context) error {
	_, err := r.db.ExecContext(ctx, `UPDATE jobs SET status = 'completed', attempts = 1`)
	return err
}

func (r *rawSQLite) close() error {
	r.workers.stop()
	return r.db.Close()
}

// rawPostgres is the raw-SQL floor on PostgreSQL, claiming with
// FOR UPDATE SKIP LOCKED.
type rawPostgres struct {
	pool    *pgxpool.Pool
	batch   int
	workers *rawWorkers
}

const rawPostgresSchema = `
CREATE TABLE IF NOT EXISTS jobs (
	id           bigserial PRIMARY KEY,
	topic        text NOT NULL,
	payload      jsonb NOT NULL,
	status       text NOT NULL DEFAULT 'pending',
	run_at       timestamptz NOT NULL,
	attempts     integer NOT NULL DEFAULT 0,
	locked_until timestamptz
);
CREATE INDEX IF NOT EXISTS jobs_runnable_idx ON jobs (run_at) WHERE status = 'pending';`

// openRawPostgres returns the raw floor that handles batch jobs per
// statement, with a pool big enough for every worker.
func openRawPostgres(batch int) func(ctx context.Context, t target) (queue, error) {
	return func(ctx context.Context, t target) (queue, error) {
		cfg, err := pgxpool.ParseConfig(t.dsn)
		if err != nil {
			return nil, fmt.Errorf("parse the DSN: %w", err)
		}
		cfg.MaxConns = workers + 2
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("open the pgx pool: %w", err)
		}
		if _, err := pool.Exec(ctx, rawPostgresSchema); err != nil {
			pool.Close()
			return nil, fmt.Errorf("create the raw table: %w", err)
		}
		return &rawPostgres{pool: pool, batch: batch}, nil
	}
}

func (r *rawPostgres) enqueue(ctx context.Context) error {
	_, err := r.pool.Exec(ctx, `INSERT INTO jobs (topic, payload, run_at) VALUES ($1, $2, $3)`,
		topic, string(payload), time.Now())
	return err
}

// enqueueBatch inserts n jobs in one transaction, r.batch rows per statement.
func (r *rawPostgres) enqueueBatch(ctx context.Context, n int) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		now := time.Now()
		for done := 0; done < n; {
			rows := min(r.batch, n-done)
			var err error
			if rows == 1 {
				_, err = tx.Exec(ctx, `INSERT INTO jobs (topic, payload, run_at) VALUES ($1, $2, $3)`,
					topic, string(payload), now)
			} else {
				topics, payloads, runAts := make([]string, rows), make([]string, rows), make([]time.Time, rows)
				for i := range rows {
					topics[i], payloads[i], runAts[i] = topic, string(payload), now
				}
				_, err = tx.Exec(ctx, `INSERT INTO jobs (topic, payload, run_at)
					SELECT * FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[])`, topics, payloads, runAts)
			}
			if err != nil {
				return err
			}
			done += rows
		}
		return nil
	})
}

func (r *rawPostgres) ops() rawOps {
	return rawOps{
		claim: func(ctx context.Context, limit int) ([]int64, error) {
			now := time.Now()
			rows, err := r.pool.Query(ctx, `WITH claimable AS (
					SELECT id FROM jobs WHERE status = 'pending' AND run_at <= $1
					ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED
				)
				UPDATE jobs AS j SET status = 'processing', attempts = j.attempts + 1, locked_until = $3
				FROM claimable AS c WHERE j.id = c.id
				RETURNING j.id`, now, limit, now.Add(5*time.Minute))
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, pgx.RowTo[int64])
		},
		complete: func(ctx context.Context, ids []int64) error {
			_, err := r.pool.Exec(ctx, `UPDATE jobs SET status = 'completed', locked_until = NULL WHERE id = ANY($1)`, ids)
			return err
		},
	}
}

func (r *rawPostgres) start(ctx context.Context, run func()) error {
	r.workers = startRawWorkers(r.ops(), r.batch, run)
	return nil
}

func (r *rawPostgres) stop(ctx context.Context) error {
	r.workers.stop()
	r.workers = nil
	return nil
}

func (r *rawPostgres) completeAll(ctx context.Context) error {
	if _, err := r.pool.Exec(ctx, `UPDATE jobs SET status = 'completed', attempts = 1`); err != nil {
		return err
	}
	_, err := r.pool.Exec(ctx, `VACUUM ANALYZE jobs`)
	return err
}

func (r *rawPostgres) close() error {
	r.workers.stop()
	r.pool.Close()
	return nil
}
