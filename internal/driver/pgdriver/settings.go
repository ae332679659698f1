package pgdriver

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Settings local to one implicit transaction, each a set_config call to
// select ahead of a dispatcher statement in the same round trip (see
// withSettings).
const (
	// indexOrder rules sorting out of the plan, so a statement that reads
	// pending jobs in run_at order walks the runnable index and stops at its
	// limit. A job table's statistics are stale by nature: the pending set
	// swings from empty to a burst of thousands within seconds, while
	// autovacuum samples the table now and then. On statistics that count
	// few pending rows the planner prefers a bitmap scan of every runnable
	// job followed by a sort, whose cost grows with the backlog: about 5 ms a
	// claim with 20,000 jobs pending, against 0.1 ms for the index walk.
	indexOrder = `set_config('enable_sort', 'off', true)`

	// asyncCommit lets the transaction return before its commit record is
	// flushed to disk. It is used for claims and outcomes only, never for
	// enqueues: if the PostgreSQL server crashes, the claims and outcomes of
	// its last moments (at most about three wal_writer_delay, 600 ms by
	// default) may be undone, which sends those jobs back to pending or
	// processing, and they run again: the at-least-once guarantee holds.
	// The fence of a lost claim is never reused: see claimSQL.
	asyncCommit = `set_config('synchronous_commit', 'off', true)`

	// claimSettings are the settings of every claim.
	claimSettings = indexOrder + ", " + asyncCommit
)

// withSettings sends settings (set_config calls, comma-separated) and then
// sql with args in one batch — one round trip and one implicit transaction,
// so the settings hold for sql alone — and lets read consume the result of
// sql.
func (d *Driver) withSettings(ctx context.Context, settings, sql string, args []any, read func(pgx.BatchResults) error) error {
	batch := &pgx.Batch{}
	batch.Queue(`SELECT ` + settings)
	batch.Queue(sql, args...)
	results := d.pool.SendBatch(ctx, batch)
	_, err := results.Exec()
	if err == nil {
		err = read(results)
	}
	if closeErr := results.Close(); err == nil {
		err = closeErr
	}
	return err
}
