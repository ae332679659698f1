package sqlitedriver

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// finishSQL writes a JSON array of outcomes, each fenced by its claim. A
// null run_at keeps the job's run_at, an empty last_error its last_error.
const finishSQL = `UPDATE _jobs
	SET status = o.value ->> 'status',
		run_at = COALESCE(o.value ->> 'run_at', _jobs.run_at),
		last_error = CASE WHEN (o.value ->> 'last_error') <> '' THEN o.value ->> 'last_error' ELSE _jobs.last_error END,
		attempts = _jobs.attempts - (o.value ->> 'release'),
		locked_until = 0,
		updated = {:now}
	FROM json_each({:outcomes}) AS o
	WHERE _jobs.id = o.value ->> 'id'
		AND +_jobs.status = 'processing' -- '+': look rows up by id, not by status
		AND _jobs.lock_version = o.value ->> 'lock_version'`

// Finish writes fenced outcomes in one transaction.
func (d *Driver) Finish(ctx context.Context, p driver.FinishParams) (int, error) {
	if len(p.Outcomes) == 0 {
		return 0, nil
	}
	encoded, err := json.Marshal(finishRows(p.Outcomes))
	if err != nil {
		return 0, fmt.Errorf("encode outcomes: %w", err)
	}
	var res sql.Result
	err = d.finishStmt.use(d.write, finishSQL, func(q *dbx.Query) error {
		var err error
		res, err = q.WithContext(ctx).Bind(dbx.Params{"outcomes": string(encoded), "now": micros(p.Now)}).Execute()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("finish %d jobs: %w", len(p.Outcomes), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("finish %d jobs: %w", len(p.Outcomes), err)
	}
	return int(n), nil
}

// finishRow is one outcome as the Finish statement reads it from JSON.
type finishRow struct {
	ID          string `json:"id"`
	LockVersion int64  `json:"lock_version"`
	Status      string `json:"status"`
	// RunAt is nil (null) to keep the job's run_at.
	RunAt     *int64 `json:"run_at"`
	LastError string `json:"last_error"`
	Release   int    `json:"release"`
}

// finishRows encodes outcomes for the Finish statement.
func finishRows(outcomes []driver.Outcome) []finishRow {
	rows := make([]finishRow, len(outcomes))
	for i, o := range outcomes {
		rows[i] = finishRow{ID: o.ID, LockVersion: o.LockVersion, Status: o.Status, LastError: o.LastError}
		if !o.RunAt.IsZero() {
			runAt := micros(o.RunAt)
			rows[i].RunAt = &runAt
		}
		if o.ReleaseAttempt {
			rows[i].Release = 1
		}
	}
	return rows
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
