package sqlitedriver

import (
	"context"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
)

// migrations are the schema versions of the SQLite job table, applied in
// order and recorded in _jobs_schema. Never edit a released entry: append a
// new one.
//
// Times are INTEGER microseconds since the Unix epoch (UTC), negative before
// it, so comparisons and ordering are plain integer comparisons. A
// locked_until of 0 means no lock (see noLock); no other column has a
// "no time".
var migrations = []string{
	// 1: the job table and the indexes of the claim and recovery paths.
	`CREATE TABLE IF NOT EXISTS _jobs (
		id           TEXT PRIMARY KEY NOT NULL,
		topic        TEXT NOT NULL,
		payload      TEXT NOT NULL,
		status       TEXT NOT NULL DEFAULT 'pending',
		run_at       INTEGER NOT NULL,
		attempts     INTEGER NOT NULL DEFAULT 0,
		max_retries  INTEGER NOT NULL DEFAULT 0,
		last_error   TEXT NOT NULL DEFAULT '',
		locked_until INTEGER NOT NULL DEFAULT 0,
		lock_version INTEGER NOT NULL DEFAULT 0,
		created      INTEGER NOT NULL,
		updated      INTEGER NOT NULL
	);
	CREATE INDEX IF NOT EXISTS _jobs_runnable_idx ON _jobs (run_at) WHERE status = 'pending';
	CREATE INDEX IF NOT EXISTS _jobs_locked_idx ON _jobs (locked_until) WHERE status = 'processing';
	CREATE INDEX IF NOT EXISTS _jobs_status_created_idx ON _jobs (status, created);`,
	// 2: finding completed jobs by age, for retention.
	`CREATE INDEX IF NOT EXISTS _jobs_completed_idx ON _jobs (updated) WHERE status = 'completed';`,
	// 3: pending jobs by topic, then run_at, so a claim reads only the
	// topics it handles however many jobs of others wait; it replaces the
	// index on run_at alone, which nothing reads any more.
	`CREATE INDEX IF NOT EXISTS _jobs_runnable_topic_idx ON _jobs (topic, run_at) WHERE status = 'pending';
	DROP INDEX IF EXISTS _jobs_runnable_idx;`,
	// 4: the paused topics, whose jobs no claim takes until they are
	// resumed, and since when each is paused.
	`CREATE TABLE IF NOT EXISTS _jobs_paused_topics (
		topic     TEXT PRIMARY KEY NOT NULL,
		paused_at INTEGER NOT NULL
	);`,
	// 5: priorities, unique keys and schedules. The columns are added in
	// place, so the jobs of an older table get priority 0 and no key.
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
	// job, in microseconds as every time.
	`ALTER TABLE _jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE _jobs ADD COLUMN unique_key TEXT NOT NULL DEFAULT '';
	CREATE INDEX IF NOT EXISTS _jobs_pending_default_idx ON _jobs (topic, run_at, id)
		WHERE status = 'pending' AND priority = 0;
	CREATE INDEX IF NOT EXISTS _jobs_pending_priority_idx ON _jobs (topic, priority DESC, run_at, id)
		WHERE status = 'pending' AND priority <> 0;
	CREATE INDEX IF NOT EXISTS _jobs_pending_priority_run_at_idx ON _jobs (topic, run_at)
		WHERE status = 'pending' AND priority <> 0;
	DROP INDEX IF EXISTS _jobs_runnable_topic_idx;
	CREATE UNIQUE INDEX IF NOT EXISTS _jobs_unique_key_idx ON _jobs (topic, unique_key)
		WHERE unique_key <> '' AND status IN ('pending', 'processing');
	CREATE TABLE IF NOT EXISTS _jobs_schedules (
		name      TEXT PRIMARY KEY NOT NULL,
		last_tick INTEGER NOT NULL
	);`,
	// 6: no index of every job by status. A job's entry in the index on
	// (status, created) was written when it was stored and moved at each of
	// its two changes of status (claimed, then finished): 5 of the 11 index
	// writes of a job's life, on the one writer the app shares, for Stats
	// alone (no listing read it). Stats now counts each status in an index
	// that holds it: pending jobs in theirs, processing ones in the lock
	// index, completed ones in the retention index, and failed and
	// cancelled ones — jobs a busy queue seldom makes — in a partial index
	// of their own.
	`DROP INDEX IF EXISTS _jobs_status_created_idx;
	CREATE INDEX IF NOT EXISTS _jobs_failed_cancelled_idx ON _jobs (status)
		WHERE status IN ('failed', 'cancelled');`,
}

// Migrate applies every schema version newer than the recorded one, and
// prepares the insert.
func (d *Driver) Migrate(ctx context.Context) error {
	if err := d.migrate(ctx, len(migrations)); err != nil {
		return err
	}
	// Prepared now, the insert serves the app's transactions too (see
	// InTransaction): inside one, it could not be prepared for them.
	if _, err := d.stmts.insert.prepare(ctx, d.handle); err != nil {
		return fmt.Errorf("prepare the insert: %w", err)
	}
	return nil
}

// migrate applies the schema versions newer than the recorded one, up to
// version.
func (d *Driver) migrate(ctx context.Context, version int) error {
	return d.transactional(func(tx dbx.Builder) error {
		_, err := tx.NewQuery(`CREATE TABLE IF NOT EXISTS _jobs_schema (
			version INTEGER PRIMARY KEY NOT NULL,
			applied INTEGER NOT NULL
		)`).WithContext(ctx).Execute()
		if err != nil {
			return fmt.Errorf("create _jobs_schema: %w", err)
		}
		var current int
		err = tx.NewQuery(`SELECT COALESCE(MAX(version), 0) FROM _jobs_schema`).WithContext(ctx).Row(&current)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		for v := current + 1; v <= version; v++ {
			if _, err := tx.NewQuery(migrations[v-1]).WithContext(ctx).Execute(); err != nil {
				return fmt.Errorf("apply schema version %d: %w", v, err)
			}
			_, err := tx.NewQuery(`INSERT INTO _jobs_schema (version, applied) VALUES ({:v}, {:now})`).
				WithContext(ctx).Bind(dbx.Params{"v": v, "now": time.Now().UnixMicro()}).Execute()
			if err != nil {
				return fmt.Errorf("record schema version %d: %w", v, err)
			}
		}
		return nil
	})
}
