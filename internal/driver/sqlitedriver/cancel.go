package sqlitedriver

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// cancelSQL moves a job to cancelled if it is pending or processing, and
// drops its lock.
const cancelSQL = `UPDATE _jobs
	SET status = 'cancelled', locked_until = 0, updated = {:now}
	WHERE id = {:id} AND status IN ('pending', 'processing')
	RETURNING ` + jobColumns

// Cancel moves a pending or processing job to cancelled. The outcome of an
// attempt still running is then skipped: Finish writes only processing
// jobs. Other processes learn of it through Lost.
func (d *Driver) Cancel(ctx context.Context, p driver.CancelParams) (driver.JobRow, error) {
	rows, err := queryRows(d.write.NewQuery(cancelSQL).WithContext(ctx).
		Bind(dbx.Params{"id": p.ID, "now": micros(p.Now)}))
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("cancel job %s: %w", p.ID, err)
	}
	if len(rows) == 1 {
		return rows[0], nil
	}
	return driver.JobRow{}, d.explainNoChange(ctx, p.ID)
}

// lostSQL returns the ids of a JSON array of claims whose job is no longer
// processing under that claim. Each job is read by its primary key, its
// status and lock version compared once read (a search by status would
// read every processing job); a job that is gone compares as NULL.
const lostSQL = `SELECT c.value ->> 'id' FROM json_each({:claims}) AS c
	WHERE (SELECT status = 'processing' AND lock_version = c.value ->> 'lock_version'
		FROM _jobs WHERE id = c.value ->> 'id') IS NOT TRUE`

// Lost returns the ids of the claims whose job is no longer processing
// under that claim.
func (d *Driver) Lost(ctx context.Context, p driver.LostParams) ([]string, error) {
	if len(p.Claims) == 0 {
		return nil, nil
	}
	encoded, err := json.Marshal(lostRows(p.Claims))
	if err != nil {
		return nil, fmt.Errorf("encode claims: %w", err)
	}
	var lost []string
	err = d.read.NewQuery(lostSQL).WithContext(ctx).Bind(dbx.Params{"claims": string(encoded)}).Column(&lost)
	if err != nil {
		return nil, fmt.Errorf("check %d claims: %w", len(p.Claims), err)
	}
	return lost, nil
}

// lostRow is one claim as the Lost statement reads it from JSON.
type lostRow struct {
	ID          string `json:"id"`
	LockVersion int64  `json:"lock_version"`
}

// lostRows encodes claims for the Lost statement.
func lostRows(claims []driver.Claim) []lostRow {
	rows := make([]lostRow, len(claims))
	for i, c := range claims {
		rows[i] = lostRow{ID: c.ID, LockVersion: c.LockVersion}
	}
	return rows
}
