package sqlitedriver

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// getSQL reads one job.
const getSQL = `SELECT ` + jobColumns + ` FROM _jobs WHERE id = {:id}`

// Get reads one job. Its errors name no id: the caller knows it.
func (d *Driver) Get(ctx context.Context, p driver.GetParams) (driver.JobRow, error) {
	return getJob(ctx, d.read, p.ID)
}

// getJob reads one job through db, or returns ErrNotFound.
func getJob(ctx context.Context, db dbx.Builder, id string) (driver.JobRow, error) {
	rows, err := queryRows(db.NewQuery(getSQL).WithContext(ctx).Bind(dbx.Params{"id": id}))
	if err != nil {
		return driver.JobRow{}, err
	}
	if len(rows) == 0 {
		return driver.JobRow{}, driver.ErrNotFound
	}
	return rows[0], nil
}

// jobsSQL reads the jobs whose ids are in the JSON array {:ids}.
const jobsSQL = `SELECT ` + jobColumns + ` FROM _jobs WHERE id IN (SELECT value FROM json_each({:ids}))`

// Jobs reads the jobs of p.IDs that exist.
func (d *Driver) Jobs(ctx context.Context, p driver.JobsParams) ([]driver.JobRow, error) {
	ids, err := json.Marshal(p.IDs)
	if err != nil {
		return nil, fmt.Errorf("read jobs by id: %w", err)
	}
	rows, err := queryRows(d.read.NewQuery(jobsSQL).WithContext(ctx).Bind(dbx.Params{"ids": string(ids)}))
	if err != nil {
		return nil, fmt.Errorf("read jobs by id: %w", err)
	}
	return rows, nil
}

// listWhere matches every job when a filter is empty.
const listWhere = ` WHERE ({:topic} = '' OR topic = {:topic}) AND ({:status} = '' OR status = {:status})`

// listCountSQL counts the jobs a listing matches; listPageSQL reads one
// page of them, newest first.
const (
	listCountSQL = `SELECT COUNT(*) FROM _jobs` + listWhere
	listPageSQL  = `SELECT ` + jobColumns + ` FROM _jobs` + listWhere +
		` ORDER BY created DESC, id DESC LIMIT {:limit} OFFSET {:offset}`
)

// List reads one page, newest first, and the total of matching jobs. Both
// come from one read transaction, so from one snapshot of the table: the
// total counts the jobs the page was cut from, whatever is written
// meanwhile.
func (d *Driver) List(ctx context.Context, p driver.ListParams) ([]driver.JobRow, int64, error) {
	params := dbx.Params{"topic": p.Topic, "status": p.Status, "limit": p.Limit, "offset": p.Offset}
	var (
		page  []driver.JobRow
		total int64
	)
	err := d.snapshot(ctx, func(tx dbx.Builder) error {
		err := tx.NewQuery(listCountSQL).WithContext(ctx).Bind(params).Row(&total)
		if err != nil {
			return fmt.Errorf("count jobs: %w", err)
		}
		page, err = queryRows(tx.NewQuery(listPageSQL).WithContext(ctx).Bind(params))
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

// statusCounts counts the jobs of each status, in the order of
// statsTargets.
const statusCounts = `COUNT(*) FILTER (WHERE status = 'pending'),
		COUNT(*) FILTER (WHERE status = 'processing'),
		COUNT(*) FILTER (WHERE status = 'completed'),
		COUNT(*) FILTER (WHERE status = 'failed'),
		COUNT(*) FILTER (WHERE status = 'cancelled')`

// statsSQL counts jobs per status, in the order of statsTargets, each in
// an index of the jobs of that status (see schema version 6): it reads no
// row of the table, and no index entry of a job of another status but for
// failed and cancelled jobs, which share theirs.
const statsSQL = `SELECT
		(SELECT COUNT(*) FROM _jobs INDEXED BY _jobs_pending_default_idx WHERE status = 'pending' AND priority = 0)
		+ (SELECT COUNT(*) FROM _jobs INDEXED BY _jobs_pending_priority_idx WHERE status = 'pending' AND priority <> 0),
		(SELECT COUNT(*) FROM _jobs INDEXED BY _jobs_locked_idx WHERE status = 'processing'),
		(SELECT COUNT(*) FROM _jobs INDEXED BY _jobs_completed_idx WHERE status = 'completed'),
		ended.failed,
		ended.cancelled
	FROM (
		SELECT COUNT(*) FILTER (WHERE status = 'failed') AS failed,
			COUNT(*) FILTER (WHERE status = 'cancelled') AS cancelled
		FROM _jobs INDEXED BY _jobs_failed_cancelled_idx WHERE status IN ('failed', 'cancelled')
	) AS ended`

// Stats counts jobs per status.
func (d *Driver) Stats(ctx context.Context) (driver.Stats, error) {
	var s driver.Stats
	err := d.read.NewQuery(statsSQL).WithContext(ctx).Row(statsTargets(&s)...)
	if err != nil {
		return s, fmt.Errorf("count jobs by status: %w", err)
	}
	return s, nil
}

// topicsSQL counts the jobs of each topic per status, paused topics
// without jobs included, and tells whether each is paused.
const topicsSQL = `SELECT topic, ` + statusCounts + `, MAX(paused)
	FROM (
		SELECT topic, status, 0 AS paused FROM _jobs
		UNION ALL
		SELECT topic, NULL, 1 FROM _jobs_paused_topics
	)
	GROUP BY topic
	ORDER BY topic`

// Topics returns every topic with jobs or paused, in topic order, with its
// jobs counted per status.
func (d *Driver) Topics(ctx context.Context) ([]driver.TopicStats, error) {
	rows, err := d.read.NewQuery(topicsSQL).WithContext(ctx).Rows()
	if err != nil {
		return nil, fmt.Errorf("count jobs by topic: %w", err)
	}
	defer rows.Close()
	var topics []driver.TopicStats
	for rows.Next() {
		var ts driver.TopicStats
		if err := rows.Scan(topicTargets(&ts)...); err != nil {
			return nil, fmt.Errorf("count jobs by topic: %w", err)
		}
		topics = append(topics, ts)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count jobs by topic: %w", err)
	}
	return topics, nil
}

// deleteSQL removes a job if it is pending, failed or cancelled.
const deleteSQL = `DELETE FROM _jobs WHERE id = {:id} AND status IN ('pending', 'failed', 'cancelled')
	RETURNING ` + jobColumns

// Delete removes a pending, failed or cancelled job and returns it as it was.
func (d *Driver) Delete(ctx context.Context, p driver.DeleteParams) (driver.JobRow, error) {
	rows, err := queryRows(d.write.NewQuery(deleteSQL).WithContext(ctx).Bind(dbx.Params{"id": p.ID}))
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("delete job %s: %w", p.ID, err)
	}
	if len(rows) > 0 {
		return rows[0], nil
	}
	return driver.JobRow{}, d.explainNoChange(ctx, p.ID)
}

// requeueSQL moves a failed or cancelled job back to pending with its
// attempts reset, unless a pending or processing job of its topic holds its
// unique key: the unique index would refuse it, in words SQLite's drivers
// word each their own way.
const requeueSQL = `UPDATE _jobs
	SET status = 'pending', attempts = 0, run_at = {:run_at}, locked_until = 0, updated = {:now}
	WHERE id = {:id} AND status IN ('failed', 'cancelled')
		AND NOT EXISTS (SELECT 1 FROM _jobs AS holder
			WHERE holder.topic = _jobs.topic AND holder.unique_key = _jobs.unique_key
				AND holder.unique_key <> '' AND holder.status IN ('pending', 'processing'))
	RETURNING ` + jobColumns

// Requeue moves a failed or cancelled job back to pending with its attempts
// reset. It returns ErrRejected when the job's unique key is held.
func (d *Driver) Requeue(ctx context.Context, p driver.RequeueParams) (driver.JobRow, error) {
	rows, err := queryRows(d.write.NewQuery(requeueSQL).WithContext(ctx).
		Bind(dbx.Params{"id": p.ID, "run_at": micros(p.RunAt), "now": micros(p.Now)}))
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("requeue job %s: %w", p.ID, err)
	}
	if len(rows) == 1 {
		return rows[0], nil
	}
	job, err := getJob(ctx, d.read, p.ID)
	if err != nil {
		return driver.JobRow{}, err
	}
	if job.Status == driver.StatusFailed || job.Status == driver.StatusCancelled {
		return driver.JobRow{}, keyHeld(p.ID)
	}
	return driver.JobRow{}, driver.ErrWrongStatus
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
	if _, err := getJob(ctx, d.read, id); err != nil {
		return err
	}
	return driver.ErrWrongStatus
}
