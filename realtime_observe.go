package jobs

import (
	"context"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/service"
)

// observedDriver is a driver that tells note of every change it makes to
// jobs, once the change is made: the source of the realtime feed. Reads
// pass through untouched.
type observedDriver struct {
	driver.Driver
	note func(driver.Changes)
}

// observe returns drv telling note of its changes.
func observe(drv driver.Driver, note func(driver.Changes)) driver.Driver {
	return &observedDriver{Driver: drv, note: note}
}

// Insert notes the jobs it stored (not those found in flight by their
// unique key).
func (o *observedDriver) Insert(ctx context.Context, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	rows, err := o.Driver.Insert(ctx, jobs)
	if err == nil {
		var c driver.Changes
		for _, r := range rows {
			if !r.Duplicate {
				c.Created = append(c.Created, r.ID)
			}
		}
		o.noteIf(c)
	}
	return rows, err
}

// Claim notes the jobs it claimed, and those of the outcomes it wrote.
func (o *observedDriver) Claim(ctx context.Context, p driver.ClaimParams) ([]driver.JobRow, error) {
	rows, err := o.Driver.Claim(ctx, p)
	if err == nil {
		o.noteIf(driver.Changes{Updated: append(idsOf(rows), outcomeIDs(p.Outcomes)...)})
	}
	return rows, err
}

// Finish notes the jobs of the outcomes when it wrote any (a stale
// outcome's job is read again for nothing, which is harmless).
func (o *observedDriver) Finish(ctx context.Context, p driver.FinishParams) (int, error) {
	n, err := o.Driver.Finish(ctx, p)
	if err == nil && n > 0 {
		o.note(driver.Changes{Updated: outcomeIDs(p.Outcomes)})
	}
	return n, err
}

// outcomeIDs are the ids of the outcomes' jobs.
func outcomeIDs(outcomes []driver.Outcome) []string {
	ids := make([]string, len(outcomes))
	for i, out := range outcomes {
		ids[i] = out.ID
	}
	return ids
}

// RecoverExpired notes how many jobs it released, not which.
func (o *observedDriver) RecoverExpired(ctx context.Context, p driver.RecoverParams) (int, error) {
	n, err := o.Driver.RecoverExpired(ctx, p)
	o.noteIf(driver.Changes{Untold: n})
	return n, err
}

// DeleteCompleted notes how many jobs it deleted, not which.
func (o *observedDriver) DeleteCompleted(ctx context.Context, p driver.DeleteCompletedParams) (int, error) {
	n, err := o.Driver.DeleteCompleted(ctx, p)
	o.noteIf(driver.Changes{Untold: n})
	return n, err
}

// Delete notes the job it deleted.
func (o *observedDriver) Delete(ctx context.Context, p driver.DeleteParams) (driver.JobRow, error) {
	row, err := o.Driver.Delete(ctx, p)
	if err == nil {
		o.note(driver.Changes{Deleted: []driver.DeletedJob{{ID: row.ID, Topic: row.Topic, Status: row.Status}}})
	}
	return row, err
}

// Requeue notes the job it requeued.
func (o *observedDriver) Requeue(ctx context.Context, p driver.RequeueParams) (driver.JobRow, error) {
	row, err := o.Driver.Requeue(ctx, p)
	if err == nil {
		o.note(driver.Changes{Updated: []string{row.ID}})
	}
	return row, err
}

// Cancel notes the job it cancelled.
func (o *observedDriver) Cancel(ctx context.Context, p driver.CancelParams) (driver.JobRow, error) {
	row, err := o.Driver.Cancel(ctx, p)
	if err == nil {
		o.note(driver.Changes{Updated: []string{row.ID}})
	}
	return row, err
}

// Tick notes the job of a tick it recorded. When that job was found in
// flight by its unique key instead, the id names no job, and the feed
// finds nothing to tell.
func (o *observedDriver) Tick(ctx context.Context, p driver.TickParams) (bool, error) {
	recorded, err := o.Driver.Tick(ctx, p)
	if recorded {
		o.note(driver.Changes{Created: []string{p.Job.ID}})
	}
	return recorded, err
}

// SetPaused notes a change without jobs: the topic's state changed, which
// subscribers learn from the stats message it leads to.
func (o *observedDriver) SetPaused(ctx context.Context, p driver.PauseParams) error {
	err := o.Driver.SetPaused(ctx, p)
	if err == nil {
		o.note(driver.Changes{Untold: 1})
	}
	return err
}

// noteIf notes c unless it holds no change.
func (o *observedDriver) noteIf(c driver.Changes) {
	if !service.Empty(c) {
		o.note(c)
	}
}

// idsOf returns the ids of rows.
func idsOf(rows []driver.JobRow) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}
