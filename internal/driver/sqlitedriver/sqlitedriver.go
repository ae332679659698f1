// Package sqlitedriver keeps the SQL of the job table for SQLite, run through
// PocketBase's dbx builders: writes on the app's single-writer connection (or
// the caller's transaction), reads on the concurrent pool.
package sqlitedriver

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase/dbx"
)

// Driver implements driver.Driver for SQLite.
type Driver struct {
	write dbx.Builder
	read  dbx.Builder

	// The statements of the hot path, prepared once on first use.
	insertStmt prepared
	claimStmts claimStatements
	finishStmt prepared
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver that writes through write and reads through read.
// Pass PocketBase's NonconcurrentDB and ConcurrentDB, or the same transaction
// twice to work inside that transaction.
func New(write, read dbx.Builder) *Driver {
	return &Driver{write: write, read: read}
}

const jobColumns = `id, topic, payload, status, run_at, attempts, max_retries,
	last_error, locked_until, lock_version, created, updated`

// transactional runs fn in a transaction of d.write, or directly when d.write
// already is one.
func (d *Driver) transactional(fn func(tx dbx.Builder) error) error {
	if db, ok := d.write.(*dbx.DB); ok {
		return db.Transactional(func(tx *dbx.Tx) error { return fn(tx) })
	}
	return fn(d.write)
}

// Migrate applies every schema version newer than the recorded one.
func (d *Driver) Migrate(ctx context.Context) error {
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
		for v := current + 1; v <= len(migrations); v++ {
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

// Insert stores new pending jobs in one transaction. An id already stored
// is left as it is and comes back as stored, so repeating an insert is
// harmless.
func (d *Driver) Insert(ctx context.Context, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	if _, autocommit := d.write.(*dbx.DB); autocommit && len(jobs) == 1 {
		// One job needs no transaction of its own: one prepared statement.
		var row driver.JobRow
		err := d.insertStmt.use(d.write, insertSQL, func(q *dbx.Query) error {
			var err error
			row, err = insertOne(ctx, q, d.write, jobs[0])
			return err
		})
		if err != nil {
			return nil, err
		}
		return []driver.JobRow{row}, nil
	}
	rows := make([]driver.JobRow, 0, len(jobs))
	err := d.transactional(func(tx dbx.Builder) error {
		q := tx.NewQuery(insertSQL).Prepare()
		defer q.Close()
		for _, j := range jobs {
			row, err := insertOne(ctx, q, tx, j)
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// insertSQL stores one pending job; an id already stored is left alone.
const insertSQL = `INSERT INTO _jobs (id, topic, payload, status, run_at, max_retries, created, updated)
	VALUES ({:id}, {:topic}, {:payload}, 'pending', {:run_at}, {:max_retries}, {:now}, {:now})
	ON CONFLICT (id) DO NOTHING`

// insertOne runs the prepared insertSQL for j and returns the row as stored,
// reading it back through db when the id was already there.
func insertOne(ctx context.Context, q *dbx.Query, db dbx.Builder, j driver.InsertParams) (driver.JobRow, error) {
	res, err := q.WithContext(ctx).Bind(dbx.Params{
		"id":          j.ID,
		"topic":       j.Topic,
		"payload":     string(j.Payload),
		"run_at":      micros(j.RunAt),
		"max_retries": j.MaxRetries,
		"now":         micros(j.Now),
	}).Execute()
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("insert job %s: %w", j.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("insert job %s: %w", j.ID, err)
	}
	if n == 0 {
		stored, err := getJob(ctx, db, j.ID)
		if err != nil {
			return driver.JobRow{}, fmt.Errorf("read stored job %s: %w", j.ID, err)
		}
		return stored, nil
	}
	return j.PendingRow(), nil
}

// ClaimsInFlight is 1: SQLite's single writer would run a second claim
// after the first anyway.
func (d *Driver) ClaimsInFlight() int { return 1 }

// Close releases the prepared statements of the driver.
func (d *Driver) Close() {
	d.insertStmt.close()
	d.claimStmts.close()
	d.finishStmt.close()
}

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

// RecoverExpired releases processing jobs whose lock expired: back to pending
// to run at once, or failed when their last attempt was used.
func (d *Driver) RecoverExpired(ctx context.Context, p driver.RecoverParams) (int, error) {
	res, err := d.write.NewQuery(`UPDATE _jobs
		SET status = CASE WHEN attempts > max_retries THEN 'failed' ELSE 'pending' END,
			run_at = CASE WHEN attempts > max_retries THEN run_at ELSE {:now} END,
			last_error = {:last_error},
			locked_until = 0,
			updated = {:now}
		WHERE status = 'processing' AND locked_until <= {:now}`).
		WithContext(ctx).Bind(dbx.Params{"now": micros(p.Now), "last_error": p.LastError}).Execute()
	if err != nil {
		return 0, fmt.Errorf("recover expired locks: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Get reads one job. Its errors name no id: the caller knows it.
func (d *Driver) Get(ctx context.Context, p driver.GetParams) (driver.JobRow, error) {
	return getJob(ctx, d.read, p.ID)
}

// getJob reads one job through db, or returns ErrNotFound.
func getJob(ctx context.Context, db dbx.Builder, id string) (driver.JobRow, error) {
	rows, err := queryRows(db.NewQuery(`SELECT ` + jobColumns + ` FROM _jobs WHERE id = {:id}`).
		WithContext(ctx).Bind(dbx.Params{"id": id}))
	if err != nil {
		return driver.JobRow{}, err
	}
	if len(rows) == 0 {
		return driver.JobRow{}, driver.ErrNotFound
	}
	return rows[0], nil
}

// List reads one page, newest first, and the total of matching jobs. Both
// come from one read transaction, so from one snapshot of the table: the
// total counts the jobs the page was cut from, whatever is written
// meanwhile.
func (d *Driver) List(ctx context.Context, p driver.ListParams) ([]driver.JobRow, int64, error) {
	params := dbx.Params{"topic": p.Topic, "status": p.Status, "limit": p.Limit, "offset": p.Offset}
	const where = ` WHERE ({:topic} = '' OR topic = {:topic}) AND ({:status} = '' OR status = {:status})`
	var (
		page  []driver.JobRow
		total int64
	)
	err := d.snapshot(ctx, func(tx dbx.Builder) error {
		err := tx.NewQuery(`SELECT COUNT(*) FROM _jobs` + where).WithContext(ctx).Bind(params).Row(&total)
		if err != nil {
			return fmt.Errorf("count jobs: %w", err)
		}
		page, err = queryRows(tx.NewQuery(`SELECT ` + jobColumns + ` FROM _jobs` + where +
			` ORDER BY created DESC, id DESC LIMIT {:limit} OFFSET {:offset}`).WithContext(ctx).Bind(params))
		if err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return page, total, nil
}

// snapshot runs fn in a read-only transaction of d.read, whose statements
// all read one snapshot of the database, or directly when d.read already is
// a transaction. A read-only transaction never takes the write lock.
func (d *Driver) snapshot(ctx context.Context, fn func(tx dbx.Builder) error) error {
	if db, ok := d.read.(*dbx.DB); ok {
		return db.TransactionalContext(ctx, &sql.TxOptions{ReadOnly: true}, func(tx *dbx.Tx) error { return fn(tx) })
	}
	return fn(d.read)
}

// Stats counts jobs per status.
func (d *Driver) Stats(ctx context.Context) (driver.Stats, error) {
	var s driver.Stats
	err := d.read.NewQuery(`SELECT
			COUNT(*) FILTER (WHERE status = 'pending'),
			COUNT(*) FILTER (WHERE status = 'processing'),
			COUNT(*) FILTER (WHERE status = 'completed'),
			COUNT(*) FILTER (WHERE status = 'failed')
		FROM _jobs`).WithContext(ctx).Row(&s.Pending, &s.Processing, &s.Completed, &s.Failed)
	if err != nil {
		return s, fmt.Errorf("count jobs by status: %w", err)
	}
	return s, nil
}

// Delete removes a pending or failed job.
func (d *Driver) Delete(ctx context.Context, p driver.DeleteParams) error {
	res, err := d.write.NewQuery(`DELETE FROM _jobs WHERE id = {:id} AND status IN ('pending', 'failed')`).
		WithContext(ctx).Bind(dbx.Params{"id": p.ID}).Execute()
	if err != nil {
		return fmt.Errorf("delete job %s: %w", p.ID, err)
	}
	return d.explainNoChange(ctx, res, p.ID)
}

// Requeue moves a failed job back to pending with its attempts reset.
func (d *Driver) Requeue(ctx context.Context, p driver.RequeueParams) (driver.JobRow, error) {
	rows, err := queryRows(d.write.NewQuery(`UPDATE _jobs
		SET status = 'pending', attempts = 0, run_at = {:run_at}, locked_until = 0, updated = {:now}
		WHERE id = {:id} AND status = 'failed'
		RETURNING ` + jobColumns).WithContext(ctx).
		Bind(dbx.Params{"id": p.ID, "run_at": micros(p.RunAt), "now": micros(p.Now)}))
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("requeue job %s: %w", p.ID, err)
	}
	if len(rows) == 1 {
		return rows[0], nil
	}
	if _, err := getJob(ctx, d.read, p.ID); err != nil {
		return driver.JobRow{}, err
	}
	return driver.JobRow{}, driver.ErrWrongStatus
}

// DeleteCompleted deletes one batch of old completed jobs.
func (d *Driver) DeleteCompleted(ctx context.Context, p driver.DeleteCompletedParams) (int, error) {
	res, err := d.write.NewQuery(`DELETE FROM _jobs WHERE id IN (
			SELECT id FROM _jobs INDEXED BY _jobs_completed_idx
			WHERE status = 'completed' AND updated < {:before}
			LIMIT {:limit}
		)`).WithContext(ctx).Bind(dbx.Params{"before": micros(p.Before), "limit": p.Limit}).Execute()
	if err != nil {
		return 0, fmt.Errorf("delete completed jobs: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// explainNoChange turns "no row changed" into ErrNotFound or ErrWrongStatus.
func (d *Driver) explainNoChange(ctx context.Context, res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := getJob(ctx, d.read, id); err != nil {
		return err
	}
	return driver.ErrWrongStatus
}

// queryRows runs q and scans every job row it returns.
func queryRows(q *dbx.Query) ([]driver.JobRow, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []driver.JobRow
	for rows.Next() {
		var (
			r                                    driver.JobRow
			payload                              string
			runAt, lockedUntil, created, updated int64
		)
		err := rows.Scan(&r.ID, &r.Topic, &payload, &r.Status, &runAt, &r.Attempts, &r.MaxRetries,
			&r.LastError, &lockedUntil, &r.LockVersion, &created, &updated)
		if err != nil {
			return nil, err
		}
		r.Payload = []byte(payload)
		r.RunAt, r.LockedUntil = fromMicros(runAt), fromLockMicros(lockedUntil)
		r.Created, r.Updated = fromMicros(created), fromMicros(updated)
		out = append(out, r)
	}
	return out, rows.Err()
}
