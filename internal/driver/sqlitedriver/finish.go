package sqlitedriver

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// finishOneSQL writes one outcome, fenced by its claim. A null :run_at
// keeps the job's run_at, an empty :last_error its last_error.
const finishOneSQL = `UPDATE _jobs
	SET status = :status,
		run_at = COALESCE(:run_at, run_at),
		last_error = CASE WHEN :last_error <> '' THEN :last_error ELSE last_error END,
		attempts = attempts - :release,
		locked_until = 0,
		updated = :now
	WHERE id = :id
		AND +status = 'processing' -- '+': look the row up by id, not by status
		AND lock_version = :lock_version`

// Finish writes fenced outcomes in one transaction, one statement each: a
// statement by key costs less than one statement reading the batch from
// JSON, which makes SQLite build a temporary table.
func (d *Driver) Finish(ctx context.Context, p driver.FinishParams) (int, error) {
	if len(p.Outcomes) == 0 {
		return 0, nil
	}
	var n int
	err := d.writeTx(ctx, []*statement{&d.stmts.finishOne}, func(ctx context.Context, db *sql.DB, tx *sql.Tx) error {
		var err error
		n, err = d.finishIn(ctx, db, tx, p.Outcomes, p.Now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("finish %d jobs: %w", len(p.Outcomes), err)
	}
	return n, nil
}

// finishIn writes outcomes at now in tx and returns how many were current.
func (d *Driver) finishIn(ctx context.Context, db *sql.DB, tx *sql.Tx, outcomes []driver.Outcome, now time.Time) (int, error) {
	if len(outcomes) == 0 {
		return 0, nil
	}
	write, err := d.stmts.finishOne.in(ctx, db, tx)
	if err != nil {
		return 0, err
	}
	written := 0
	for _, o := range outcomes {
		res, err := write.ExecContext(ctx, finishArgs(o, now)...)
		if err != nil {
			return 0, fmt.Errorf("finish job %s: %w", o.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("finish job %s: %w", o.ID, err)
		}
		written += int(n)
	}
	return written, nil
}

// finishArgs are the parameters of finishOneSQL for o at now.
func finishArgs(o driver.Outcome, now time.Time) []any {
	var runAt any // NULL keeps the job's run_at
	if !o.RunAt.IsZero() {
		runAt = micros(o.RunAt)
	}
	release := 0
	if o.ReleaseAttempt {
		release = 1
	}
	return []any{
		sql.Named("id", o.ID), sql.Named("lock_version", o.LockVersion), sql.Named("status", o.Status),
		sql.Named("run_at", runAt), sql.Named("last_error", o.LastError), sql.Named("release", release),
		sql.Named("now", micros(now)),
	}
}

// recoverSQL releases processing jobs whose lock expired: back to pending to
// run at once, or failed when their last attempt was used.
const recoverSQL = `UPDATE _jobs
	SET status = CASE WHEN attempts > max_retries THEN 'failed' ELSE 'pending' END,
		run_at = CASE WHEN attempts > max_retries THEN run_at ELSE {:now} END,
		last_error = {:last_error},
		locked_until = 0,
		updated = {:now}
	WHERE status = 'processing' AND locked_until <= {:now}`

// RecoverExpired releases processing jobs whose lock has expired.
func (d *Driver) RecoverExpired(ctx context.Context, p driver.RecoverParams) (int, error) {
	res, err := d.write.NewQuery(recoverSQL).
		WithContext(ctx).Bind(dbx.Params{"now": micros(p.Now), "last_error": p.LastError}).Execute()
	if err != nil {
		return 0, fmt.Errorf("recover expired locks: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
