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
	// pending jobs in the order of a pending index walks the index and
	// stops at its limit. A job table's statistics are stale by nature: the pending set
	// swings from empty to a burst of thousands within seconds, while
	// autovacuum samples the table now and then. On statistics that count
	// few pending rows the planner prefers a bitmap scan of every runnable
	// job followed by a sort, whose cost grows with the backlog: about 5 ms a
	// claim with 20,000 jobs pending, against 0.1 ms for the index walk.
	//
	// It also turns JIT compilation off. A claim must still sort the few
	// rows its scans bring (see claimSQL), and a sort the
	// settings rule out is planned at a prohibitive cost, far past
	// jit_above_cost: PostgreSQL would spend hundreds of milliseconds
	// compiling a statement that runs in a fraction of one.
	indexOrder = `set_config('enable_sort', 'off', true), set_config('jit', 'off', true)`

	// asyncCommit lets the transaction return before its commit record is
	// flushed to disk. It is used for claims and outcomes only, never for
	// enqueues: if the PostgreSQL server crashes, the claims and outcomes of
	// its last moments (at most about three wal_writer_delay, 600 ms by
	// default) may be undone, which sends those jobs back to pending or
	// processing, and they run again: the at-least-once guarantee holds.
	// The fence of a lost claim is never reused: see claimSQL.
	asyncCommit = `set_config('synchronous_commit', 'off', true)`

	// genericPlan makes a statement run the generic plan of its prepared
	// statement, made once per connection (and again when the table's
	// statistics change), rather than plan it anew for each run's
	// parameters. The planner prices a claim's generic plan a little above
	// the custom ones, so it would plan every claim again, which makes a
	// claim take about a quarter longer. The generic plan is the same walks
	// of the pending indexes: indexOrder leaves it no other, and claimSQL
	// updates the claimed rows by key.
	genericPlan = `set_config('plan_cache_mode', 'force_generic_plan', true)`

	// claimSettings are the settings of every claim.
	claimSettings = indexOrder + ", " + asyncCommit + ", " + genericPlan
)

// withSettings sends settings (set_config calls, comma-separated) and then
// sql with args in one batch — one round trip and one implicit transaction,
// so the settings hold for sql alone — and lets read consume the result of
// sql.
func (d *Driver) withSettings(ctx context.Context, settings, sql string, args []any, read func(pgx.BatchResults) error) error {
	return d.batchWithSettings(ctx, settings, []queued{{sql, args}}, read)
}

// queued is one statement of a batch, with its arguments.
type queued struct {
	sql  string
	args []any
}

// batchWithSettings sends settings and then the statements in one batch,
// one round trip and one implicit transaction, and lets read consume their
// results, in order.
func (d *Driver) batchWithSettings(ctx context.Context, settings string, stmts []queued, read func(pgx.BatchResults) error) error {
	batch := &pgx.Batch{}
	batch.Queue(`SELECT ` + settings)
	for _, s := range stmts {
		batch.Queue(s.sql, s.args...)
	}
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
