package pgdriver

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// getSQL reads one job.
const getSQL = `SELECT ` + jobColumns + ` FROM _jobs WHERE id = $1`

// Get reads one job. Its errors name no id: the caller knows it.
func (d *Driver) Get(ctx context.Context, p driver.GetParams) (driver.JobRow, error) {
	rows, err := d.pool.Query(ctx, getSQL, p.ID)
	if err != nil {
		return driver.JobRow{}, interpretError(err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, scanJob)
	if err != nil {
		return driver.JobRow{}, interpretError(err)
	}
	return row, nil
}

// jobsSQL reads the jobs whose ids are in the array $1.
const jobsSQL = `SELECT ` + jobColumns + ` FROM _jobs WHERE id = ANY($1::text[])`

// Jobs reads the jobs of p.IDs that exist.
func (d *Driver) Jobs(ctx context.Context, p driver.JobsParams) ([]driver.JobRow, error) {
	var found []driver.JobRow
	rows, err := d.pool.Query(ctx, jobsSQL, p.IDs)
	if err == nil {
		found, err = pgx.CollectRows(rows, scanJob)
	}
	if err != nil {
		return nil, fmt.Errorf("read jobs by id: %w", interpretError(err))
	}
	return found, nil
}

// listWhere matches every job when a filter is empty.
const listWhere = ` WHERE ($1::text = '' OR topic = $1::text) AND ($2::text = '' OR status = $2::text)`

// listCountSQL counts the jobs a listing matches; listPageSQL reads one
// page of them, newest first.
const (
	listCountSQL = `SELECT COUNT(*) FROM _jobs` + listWhere
	listPageSQL  = `SELECT ` + jobColumns + ` FROM _jobs` + listWhere +
		` ORDER BY created DESC, id DESC LIMIT $3 OFFSET $4`
)

// snapshotRead is a transaction whose statements all read one snapshot of
// the database.
var snapshotRead = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// List reads one page, newest first, and the total of matching jobs. Both
// come from one read-only REPEATABLE READ transaction, so from one snapshot
// of the table: the total counts the jobs the page was cut from, whatever is
// written meanwhile.
func (d *Driver) List(ctx context.Context, p driver.ListParams) ([]driver.JobRow, int64, error) {
	var (
		page  []driver.JobRow
		total int64
	)
	err := pgx.BeginTxFunc(ctx, d.pool, snapshotRead, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, listCountSQL, p.Topic, p.Status).Scan(&total)
		if err != nil {
			return fmt.Errorf("count jobs: %w", err)
		}
		rows, err := tx.Query(ctx, listPageSQL, p.Topic, p.Status, p.Limit, p.Offset)
		if err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		page, err = pgx.CollectRows(rows, scanJob)
		if err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, interpretError(err)
	}
	return page, total, nil
}

// statusCounts counts the jobs of each status, in the order of
// statsTargets.
const statusCounts = `COUNT(*) FILTER (WHERE status = 'pending'),
		COUNT(*) FILTER (WHERE status = 'processing'),
		COUNT(*) FILTER (WHERE status = 'completed'),
		COUNT(*) FILTER (WHERE status = 'failed'),
		COUNT(*) FILTER (WHERE status = 'cancelled')`

// statsSQL counts jobs per status.
const statsSQL = `SELECT ` + statusCounts + ` FROM _jobs`

// Stats counts jobs per status.
func (d *Driver) Stats(ctx context.Context) (driver.Stats, error) {
	var s driver.Stats
	err := d.pool.QueryRow(ctx, statsSQL).Scan(statsTargets(&s)...)
	if err != nil {
		return driver.Stats{}, fmt.Errorf("count jobs by status: %w", interpretError(err))
	}
	return s, nil
}

// topicsSQL counts the jobs of each topic per status, paused topics
// without jobs included, and tells whether each is paused.
const topicsSQL = `SELECT topic, ` + statusCounts + `, bool_or(paused)
	FROM (
		SELECT topic, status, false AS paused FROM _jobs
		UNION ALL
		SELECT topic, NULL, true FROM _jobs_paused_topics
	) AS t
	GROUP BY topic
	ORDER BY topic`

// Topics returns every topic with jobs or paused, in topic order, with its
// jobs counted per status.
func (d *Driver) Topics(ctx context.Context) ([]driver.TopicStats, error) {
	rows, err := d.pool.Query(ctx, topicsSQL)
	if err != nil {
		return nil, fmt.Errorf("count jobs by topic: %w", interpretError(err))
	}
	topics, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (driver.TopicStats, error) {
		var ts driver.TopicStats
		err := row.Scan(topicTargets(&ts)...)
		return ts, err
	})
	if err != nil {
		return nil, fmt.Errorf("count jobs by topic: %w", interpretError(err))
	}
	return topics, nil
}

// deleteSQL removes a job if it is pending, failed or cancelled.
const deleteSQL = `DELETE FROM _jobs WHERE id = $1 AND status IN ('pending', 'failed', 'cancelled')
	RETURNING ` + jobColumns

// Delete removes a pending, failed or cancelled job and returns it as it was.
func (d *Driver) Delete(ctx context.Context, p driver.DeleteParams) (driver.JobRow, error) {
	var deleted []driver.JobRow
	rows, err := d.pool.Query(ctx, deleteSQL, p.ID)
	if err == nil {
		deleted, err = pgx.CollectRows(rows, scanJob)
	}
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("delete job %s: %w", p.ID, interpretError(err))
	}
	if len(deleted) > 0 {
		return deleted[0], nil
	}
	return driver.JobRow{}, d.explainNoChange(ctx, p.ID)
}

// requeueSQL moves a failed or cancelled job back to pending with its
// attempts reset.
const requeueSQL = `UPDATE _jobs
	SET status = 'pending', attempts = 0, run_at = $2, locked_until = NULL, updated = $3
	WHERE id = $1 AND status IN ('failed', 'cancelled')
	RETURNING ` + jobColumns

// Requeue moves a failed or cancelled job back to pending and then
// announces it. It returns ErrRejected when a pending or processing job of
// its topic holds its unique key: the unique index refuses it.
func (d *Driver) Requeue(ctx context.Context, p driver.RequeueParams) (driver.JobRow, error) {
	var requeued []driver.JobRow
	rows, err := d.pool.Query(ctx, requeueSQL, p.ID, ts(p.RunAt), ts(p.Now))
	if err == nil {
		requeued, err = pgx.CollectRows(rows, scanJob)
	}
	if isUniqueViolation(err) {
		return driver.JobRow{}, keyHeld(p.ID)
	}
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("requeue job %s: %w", p.ID, interpretError(err))
	}
	if len(requeued) == 1 {
		d.announcer.announce()
		return requeued[0], nil
	}
	return driver.JobRow{}, d.explainNoChange(ctx, p.ID)
}

// keyHeld is the error of a Requeue of job id refused because another
// pending or processing job of its topic holds its unique key.
func keyHeld(id string) error {
	return fmt.Errorf("requeue job %s: %w: a pending or processing job of its topic holds its unique key",
		id, driver.ErrRejected)
}

// explainNoChange tells why a guarded change of job id changed nothing:
// ErrNotFound when the job does not exist, ErrWrongStatus when it does.
func (d *Driver) explainNoChange(ctx context.Context, id string) error {
	if _, err := d.Get(ctx, driver.GetParams{ID: id}); err != nil {
		return err
	}
	return driver.ErrWrongStatus
}
