package sqlitedriver

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
}
