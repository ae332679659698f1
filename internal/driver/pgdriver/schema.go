package pgdriver

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations are the schema versions of the PostgreSQL job table, applied in
// order and recorded in _jobs_schema. Never edit a released entry: append a
// new one.
//
// The table has the shape of the SQLite one, with native types: timestamptz
// for times (NULL locked_until when no lock is held) and json for payloads.
// json rather than jsonb: it keeps the payload byte for byte as the caller
// encoded it (as SQLite does), and it accepts every string Go's encoder
// writes, where jsonb refuses "\u0000". The jobs are never queried by
// payload; should that change, a later version can convert the column.
var migrations = []string{
	// 1: the job table and the indexes of the claim and recovery paths.
	`CREATE TABLE _jobs (
		id           text PRIMARY KEY,
		topic        text NOT NULL,
		payload      json NOT NULL,
		status       text NOT NULL DEFAULT 'pending',
		run_at       timestamptz NOT NULL,
		attempts     integer NOT NULL DEFAULT 0,
		max_retries  integer NOT NULL DEFAULT 0,
		last_error   text NOT NULL DEFAULT '',
		locked_until timestamptz,
		lock_version bigint NOT NULL DEFAULT 0,
		created      timestamptz NOT NULL,
		updated      timestamptz NOT NULL
	);
	CREATE INDEX _jobs_runnable_idx ON _jobs (run_at) WHERE status = 'pending';
	CREATE INDEX _jobs_locked_idx ON _jobs (locked_until) WHERE status = 'processing';
	CREATE INDEX _jobs_status_created_idx ON _jobs (status, created);`,
	// 2: finding completed jobs by age, for retention.
	`CREATE INDEX _jobs_completed_idx ON _jobs (updated) WHERE status = 'completed';`,
	// 3: pending jobs by topic, then run_at, so a claim reads only the
	// topics it handles however many jobs of others wait; it replaces the
	// index on run_at alone, which nothing reads any more.
	`CREATE INDEX _jobs_runnable_topic_idx ON _jobs (topic, run_at) WHERE status = 'pending';
	DROP INDEX _jobs_runnable_idx;`,
	// 4: the paused topics, whose jobs no claim takes until they are
	// resumed, and since when each is paused.
	`CREATE TABLE _jobs_paused_topics (
		topic     text PRIMARY KEY,
		paused_at timestamptz NOT NULL
	);`,
	// 5: priorities, unique keys and schedules. The columns are added in
	// place (with a constant default, without rewriting the table), so the
	// jobs of an older table get priority 0 and no key.
	//
	// Pending jobs are indexed for claims and look-aheads apart by
	// priority: those of the default priority 0, almost always all of them,
	// by (topic, run_at, id), one index as before; the others by (topic,
	// priority DESC, run_at, id) for claims and by (topic, run_at) for
	// look-aheads. So a claim reads the due jobs of priority 0 with a range
	// scan that ends at the first job not yet due, however many wait
	// behind it, and a job of the default priority costs one index entry
	// while pending, as it did. The index on (topic, run_at) of all pending
	// jobs goes: nothing reads it any more.
	//
	// A unique key is held by the pending and processing jobs of a topic
	// only: the partial unique index lets a key be used again once its job
	// is completed, failed or cancelled.
	//
	// _jobs_schedules keeps the last tick of each schedule that enqueued a
	// job.
	`ALTER TABLE _jobs
		ADD COLUMN priority integer NOT NULL DEFAULT 0,
		ADD COLUMN unique_key text NOT NULL DEFAULT '';
	CREATE INDEX _jobs_pending_default_idx ON _jobs (topic, run_at, id)
		WHERE status = 'pending' AND priority = 0;
	CREATE INDEX _jobs_pending_priority_idx ON _jobs (topic, priority DESC, run_at, id)
		WHERE status = 'pending' AND priority <> 0;
	CREATE INDEX _jobs_pending_priority_run_at_idx ON _jobs (topic, run_at)
		WHERE status = 'pending' AND priority <> 0;
	DROP INDEX _jobs_runnable_topic_idx;
	CREATE UNIQUE INDEX _jobs_unique_key_idx ON _jobs (topic, unique_key)
		WHERE unique_key <> '' AND status IN ('pending', 'processing');
	CREATE TABLE _jobs_schedules (
		name      text PRIMARY KEY,
		last_tick timestamptz NOT NULL
	);`,
}

// migrateLockKey identifies the advisory lock that serializes migrations of
// all processes sharing the database ("pbjobs" in ASCII).
const migrateLockKey int64 = 0x70626a6f6273

// Migrate applies every schema version newer than the recorded one, in one
// transaction that holds a transaction-scoped advisory lock, so processes
// starting at the same time migrate one after the other.
func (d *Driver) Migrate(ctx context.Context) error {
	return d.migrate(ctx, len(migrations))
}

// migrate applies the schema versions newer than the recorded one, up to
// version, as Migrate does.
func (d *Driver) migrate(ctx context.Context, version int) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS _jobs_schema (
			version integer PRIMARY KEY,
			applied timestamptz NOT NULL DEFAULT now()
		)`)
		if err != nil {
			return fmt.Errorf("create _jobs_schema: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM _jobs_schema`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		for v := current + 1; v <= version; v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("apply schema version %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO _jobs_schema (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("record schema version %d: %w", v, err)
			}
		}
		return nil
	})
}
