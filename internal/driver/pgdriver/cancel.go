package pgdriver

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// cancelSQL moves a job to cancelled if it is pending or processing, drops
// its lock, and sends its id and lock_version on CancelChannel, which listeners receive when
// the statement commits, and only if it does. The announcements of
// runnable jobs are sent after the commit instead, to keep the commits of
// enqueues out of the lock of the notification queue (see announcer);
// cancels are rare enough to take it.
const cancelSQL = `WITH cancelled AS (
		UPDATE _jobs
		SET status = 'cancelled', locked_until = NULL, updated = $2
		WHERE id = $1 AND status IN ('pending', 'processing')
		RETURNING ` + jobColumns + `
	)
	SELECT cancelled.* FROM cancelled,
		pg_notify('` + CancelChannel + `', cancelled.id || ' ' || cancelled.lock_version)`

// Cancel moves a pending or processing job to cancelled and tells every
// listener. The outcome of an attempt still running is then skipped: Finish
// writes only processing jobs.
func (d *Driver) Cancel(ctx context.Context, p driver.CancelParams) (driver.JobRow, error) {
	rows, err := d.pool.Query(ctx, cancelSQL, p.ID, ts(p.Now))
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("cancel job %s: %w", p.ID, interpretError(err))
	}
	cancelled, err := pgx.CollectRows(rows, scanJob)
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("cancel job %s: %w", p.ID, interpretError(err))
	}
	if len(cancelled) == 1 {
		return cancelled[0], nil
	}
	return driver.JobRow{}, d.explainNoChange(ctx, p.ID)
}

// lostSQL returns the ids of the claims $1 (with their lock versions $2)
// whose job is no longer processing under that claim. Each job is read by
// its primary key, its status and lock version compared once read (a
// search by status would read every processing job); a job that is gone
// compares as NULL.
const lostSQL = `SELECT c.id FROM unnest($1::text[], $2::bigint[]) AS c(id, lock_version)
	WHERE (SELECT j.status = 'processing' AND j.lock_version = c.lock_version
		FROM _jobs AS j WHERE j.id = c.id) IS NOT TRUE`

// Lost returns the ids of the claims whose job is no longer processing
// under that claim.
func (d *Driver) Lost(ctx context.Context, p driver.LostParams) ([]string, error) {
	if len(p.Claims) == 0 {
		return nil, nil
	}
	ids := make([]string, len(p.Claims))
	lockVersions := make([]int64, len(p.Claims))
	for i, c := range p.Claims {
		ids[i], lockVersions[i] = c.ID, c.LockVersion
	}
	rows, err := d.pool.Query(ctx, lostSQL, ids, lockVersions)
	if err != nil {
		return nil, fmt.Errorf("check %d claims: %w", len(p.Claims), err)
	}
	lost, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("check %d claims: %w", len(p.Claims), err)
	}
	return lost, nil
}
