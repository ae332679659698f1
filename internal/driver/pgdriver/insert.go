package pgdriver

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
