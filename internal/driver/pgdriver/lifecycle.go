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

// insertSQL inserts a batch passed as parallel arrays, all or none.
const insertSQL = `INSERT INTO _jobs (id, topic, payload, status, run_at, max_retries, created, updated)
	SELECT id, topic, payload::json, 'pending', run_at, max_retries, created, created
	FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::integer[], $6::timestamptz[])
		AS i(id, topic, payload, run_at, max_retries, created)`

// insertMissingSQL is insertSQL for a batch of which some ids may be stored
// already: those are left as they are, and the ids it did store come back.
// It costs about half as much again as insertSQL (a speculative insertion
// per row, and the ids sent back), so Insert uses it only once insertSQL met
// a stored id.
const insertMissingSQL = insertSQL + `
	ON CONFLICT (id) DO NOTHING
	RETURNING id`

// Insert stores new pending jobs in one statement (so one transaction, with
// a synchronous commit) and then announces them. Repeating an insert is
// harmless: an id that was already stored is left as it is and comes back as
// stored. Rows come back in the order of jobs.
func (d *Driver) Insert(ctx context.Context, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	var (
		ids        = make([]string, len(jobs))
		topics     = make([]string, len(jobs))
		payloads   = make([]string, len(jobs))
		runAts     = make([]time.Time, len(jobs))
		maxRetries = make([]int, len(jobs))
		created    = make([]time.Time, len(jobs))
	)
	for i, j := range jobs {
		ids[i], topics[i], payloads[i] = j.ID, j.Topic, string(j.Payload)
		runAts[i], maxRetries[i], created[i] = ts(j.RunAt), j.MaxRetries, ts(j.Now)
	}
	args := []any{ids, topics, payloads, runAts, maxRetries, created}
	_, err := d.pool.Exec(ctx, insertSQL, args...)
	if isUniqueViolation(err) {
		return d.insertMissing(ctx, jobs, args)
	}
	if err != nil {
		return nil, fmt.Errorf("insert %d jobs: %w", len(jobs), interpretError(err))
	}
	d.announcer.announce()
	out := make([]driver.JobRow, len(jobs))
	for i, j := range jobs {
		out[i] = j.PendingRow()
	}
	return out, nil
}

// insertMissing inserts the jobs whose ids are not stored yet, announces
// them, and returns every job's row: as inserted, or as it was stored.
func (d *Driver) insertMissing(ctx context.Context, jobs []driver.InsertParams, args []any) ([]driver.JobRow, error) {
	rows, err := d.pool.Query(ctx, insertMissingSQL, args...)
	if err != nil {
		return nil, fmt.Errorf("insert %d jobs: %w", len(jobs), interpretError(err))
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("insert %d jobs: %w", len(jobs), interpretError(err))
	}
	if len(inserted) > 0 {
		d.announcer.announce()
	}
	return d.insertedOrStored(ctx, jobs, inserted)
}

// insertedOrStored returns the rows of jobs after an insert that stored only
// the ids in inserted: the others were already there, and are read back.
func (d *Driver) insertedOrStored(ctx context.Context, jobs []driver.InsertParams, inserted []string) ([]driver.JobRow, error) {
	fresh := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		fresh[id] = true
	}
	var known []string
	for _, j := range jobs {
		if !fresh[j.ID] {
			known = append(known, j.ID)
		}
	}
	rows, err := d.pool.Query(ctx, `SELECT `+jobColumns+` FROM _jobs WHERE id = ANY($1::text[])`, known)
	if err != nil {
		return nil, fmt.Errorf("read %d stored jobs: %w", len(known), err)
	}
	stored, err := pgx.CollectRows(rows, scanJob)
	if err != nil {
		return nil, fmt.Errorf("read %d stored jobs: %w", len(known), err)
	}
	byID := make(map[string]driver.JobRow, len(stored))
	for _, r := range stored {
		byID[r.ID] = r
	}
	out := make([]driver.JobRow, len(jobs))
	for i, j := range jobs {
		if fresh[j.ID] {
			out[i] = j.PendingRow()
			continue
		}
		r, ok := byID[j.ID]
		if !ok {
			// Stored when the insert ran, deleted since.
			return nil, fmt.Errorf("insert job %s: %w", j.ID, driver.ErrNotFound)
		}
		out[i] = r
	}
	return out, nil
}

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
	outcomes := p.Outcomes
	if len(outcomes) == 0 {
		return 0, nil
	}
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
	args := []any{ids, lockVersions, statuses, runAts, lastErrors, releases, ts(p.Now)}
	var tag pgconn.CommandTag
	err := d.withSettings(ctx, asyncCommit, finishSQL, args, func(results pgx.BatchResults) error {
		var err error
		tag, err = results.Exec()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("finish %d jobs: %w", len(outcomes), err)
	}
	return int(tag.RowsAffected()), nil
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

// DeleteCompleted deletes one batch of old completed jobs.
func (d *Driver) DeleteCompleted(ctx context.Context, p driver.DeleteCompletedParams) (int, error) {
	tag, err := d.pool.Exec(ctx, `DELETE FROM _jobs WHERE id IN (
			SELECT id FROM _jobs
			WHERE status = 'completed' AND updated < $1
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		)`, ts(p.Before), p.Limit)
	if err != nil {
		return 0, fmt.Errorf("delete completed jobs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
