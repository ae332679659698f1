package pgdriver

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// finishSQL writes a batch of outcomes passed as parallel arrays, each fenced
// by its claim: the job must still be processing under the same lock_version.
// A NULL run_at keeps the job's run_at, an empty last_error its last_error.
const finishSQL = `UPDATE _jobs AS j
	SET status = o.status,
		run_at = COALESCE(o.run_at, j.run_at),
		last_error = CASE WHEN o.last_error <> '' THEN o.last_error ELSE j.last_error END,
		attempts = j.attempts - o.release,
		locked_until = NULL,
		updated = $7
	FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[], $6::integer[])
		AS o(id, lock_version, status, run_at, last_error, release)
	WHERE j.id = o.id AND j.status = 'processing' AND j.lock_version = o.lock_version`

// Finish writes fenced outcomes in one statement, with an asynchronous
// commit.
func (d *Driver) Finish(ctx context.Context, p driver.FinishParams) (int, error) {
	if len(p.Outcomes) == 0 {
		return 0, nil
	}
	var tag pgconn.CommandTag
	err := d.withSettings(ctx, asyncCommit, finishSQL, finishArgs(p.Outcomes, p.Now), func(results pgx.BatchResults) error {
		var err error
		tag, err = results.Exec()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("finish %d jobs: %w", len(p.Outcomes), err)
	}
	return int(tag.RowsAffected()), nil
}

// finishArgs are the parameters of finishSQL for outcomes written at now.
func finishArgs(outcomes []driver.Outcome, now time.Time) []any {
	var (
		ids          = make([]string, len(outcomes))
		lockVersions = make([]int64, len(outcomes))
		statuses     = make([]string, len(outcomes))
		runAts       = make([]pgtype.Timestamptz, len(outcomes))
		lastErrors   = make([]string, len(outcomes))
		releases     = make([]int, len(outcomes))
	)
	for i, o := range outcomes {
		ids[i], lockVersions[i], statuses[i] = o.ID, o.LockVersion, o.Status
		runAts[i], lastErrors[i] = nullTS(o.RunAt), o.LastError
		if o.ReleaseAttempt {
			releases[i] = 1
		}
	}
	return []any{ids, lockVersions, statuses, runAts, lastErrors, releases, ts(now)}
}

// recoverSQL releases processing jobs whose lock expired: back to pending to
// run at once, or failed when their last attempt was used.
const recoverSQL = `UPDATE _jobs
	SET status = CASE WHEN attempts > max_retries THEN 'failed' ELSE 'pending' END,
		run_at = CASE WHEN attempts > max_retries THEN run_at ELSE $1 END,
		last_error = $2,
		locked_until = NULL,
		updated = $1
	WHERE status = 'processing' AND locked_until <= $1`

// RecoverExpired releases processing jobs whose lock has expired.
func (d *Driver) RecoverExpired(ctx context.Context, p driver.RecoverParams) (int, error) {
	tag, err := d.pool.Exec(ctx, recoverSQL, ts(p.Now), p.LastError)
	if err != nil {
		return 0, fmt.Errorf("recover expired locks: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
