package pgdriver

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// insertSQL inserts a batch passed as parallel arrays, all or none.
const insertSQL = `INSERT INTO _jobs (id, topic, payload, status, run_at, max_retries, priority, unique_key, created, updated)
	SELECT id, topic, payload::json, 'pending', run_at, max_retries, priority, unique_key, created, created
	FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::integer[], $6::integer[], $7::text[],
		$8::timestamptz[])
		AS i(id, topic, payload, run_at, max_retries, priority, unique_key, created)`

// insertMissingSQL is insertSQL for a batch of which some jobs may be kept
// out: by their id, stored already, or by their unique key, held by a
// pending or processing job of their topic (stored before, or earlier in
// the batch). Those are left out, and the ids it did store come back. It
// costs about half as much again as insertSQL (a speculative insertion per
// row, and the ids sent back), so Insert uses it only once insertSQL met a
// conflict.
const insertMissingSQL = insertSQL + `
	ON CONFLICT DO NOTHING
	RETURNING id`

// keptOutSQL reads the jobs that may have kept jobs out of an insert: those
// with the ids $1, and the pending or processing jobs holding the unique
// keys $3 of the topics $2, through the unique index.
const keptOutSQL = `SELECT ` + jobColumns + ` FROM _jobs WHERE id = ANY($1::text[])
	UNION ALL
	SELECT ` + jobColumns + ` FROM _jobs
	WHERE (topic, unique_key) IN (SELECT * FROM unnest($2::text[], $3::text[]))
		AND unique_key <> '' AND status IN ('pending', 'processing')`

// insertAttempts bounds the inserts of a job whose unique key was held when
// it was inserted, and free again when its holder was looked for.
const insertAttempts = 5

// Insert stores new pending jobs in one statement (so one transaction, with
// a synchronous commit) and then announces them. Repeating an insert is
// harmless: an id that was already stored is left as it is and comes back as
// stored. A job whose unique key a pending or processing job of its topic
// holds comes back as that job, marked Duplicate. When the statement meets
// such a job, the others are inserted in one transaction of a few
// statements instead (see insertMissingIn). Rows come back in the order of
// jobs.
func (d *Driver) Insert(ctx context.Context, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	_, err := d.pool.Exec(ctx, insertSQL, insertArgs(jobs)...)
	if isUniqueViolation(err) {
		return d.insertMissing(ctx, jobs)
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

// insertArgs are the parameters of insertSQL for jobs, in the order of
// their unique keys when they have some: concurrent inserts of the same
// keys then wait for each other in one order, and so never deadlock.
// Jobs with one topic and key stay in their order, so the first of them
// is the one inserted.
func insertArgs(jobs []driver.InsertParams) []any {
	if slices.ContainsFunc(jobs, func(j driver.InsertParams) bool { return j.UniqueKey != "" }) {
		jobs = slices.SortedStableFunc(slices.Values(jobs), func(a, b driver.InsertParams) int {
			return cmp.Or(cmp.Compare(a.UniqueKey, b.UniqueKey), cmp.Compare(a.Topic, b.Topic))
		})
	}
	var (
		ids        = make([]string, len(jobs))
		topics     = make([]string, len(jobs))
		payloads   = make([]string, len(jobs))
		runAts     = make([]time.Time, len(jobs))
		maxRetries = make([]int, len(jobs))
		priorities = make([]int, len(jobs))
		uniqueKeys = make([]string, len(jobs))
		created    = make([]time.Time, len(jobs))
	)
	for i, j := range jobs {
		ids[i], topics[i], payloads[i] = j.ID, j.Topic, string(j.Payload)
		runAts[i], maxRetries[i], created[i] = ts(j.RunAt), j.MaxRetries, ts(j.Now)
		priorities[i], uniqueKeys[i] = j.Priority, j.UniqueKey
	}
	return []any{ids, topics, payloads, runAts, maxRetries, priorities, uniqueKeys, created}
}

// insertMissing inserts, in one transaction, the jobs that neither a stored
// id nor a held key keeps out, announces them, and returns every job's row.
func (d *Driver) insertMissing(ctx context.Context, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	var (
		rows     []driver.JobRow
		inserted int
	)
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var err error
		rows, inserted, err = insertMissingIn(ctx, tx, jobs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("insert %d jobs: %w", len(jobs), interpretError(err))
	}
	if inserted > 0 {
		d.announcer.announce()
	}
	return rows, nil
}

// insertMissingIn inserts in tx the jobs that neither a stored id nor a
// held key keeps out, and returns every job's row — as inserted, as stored,
// or the holder of its key, marked Duplicate — and how many it inserted.
// A job whose key was held when it was inserted, but whose holder finished
// before it was read, is inserted again, up to insertAttempts times.
func insertMissingIn(ctx context.Context, tx pgx.Tx, jobs []driver.InsertParams) ([]driver.JobRow, int, error) {
	out := make([]driver.JobRow, len(jobs))
	left := jobIndexes(len(jobs))
	inserted := 0
	for attempt := 1; len(left) > 0; attempt++ {
		if attempt > insertAttempts {
			return nil, 0, fmt.Errorf("job %s: kept out %d times by a job gone when looked for",
				jobs[left[0]].ID, insertAttempts)
		}
		batch := make([]driver.InsertParams, len(left))
		for k, i := range left {
			batch[k] = jobs[i]
		}
		rows, err := tx.Query(ctx, insertMissingSQL, insertArgs(batch)...)
		if err != nil {
			return nil, 0, interpretError(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, 0, interpretError(err)
		}
		fresh := make(map[string]bool, len(ids))
		for _, id := range ids {
			fresh[id] = true
		}
		var keptOut []int
		for _, i := range left {
			if fresh[jobs[i].ID] {
				out[i] = jobs[i].PendingRow()
				inserted++
			} else {
				keptOut = append(keptOut, i)
			}
		}
		if left, err = readKeptOut(ctx, tx, jobs, keptOut, out); err != nil {
			return nil, 0, err
		}
	}
	return out, inserted, nil
}

// jobIndexes returns 0, 1, …, n-1.
func jobIndexes(n int) []int {
	indexes := make([]int, n)
	for i := range indexes {
		indexes[i] = i
	}
	return indexes
}

// readKeptOut sets out[i], for each i of keptOut, to the row of the job
// that kept jobs[i] out of an insert: the job with its id, or else the
// holder of its unique key, marked Duplicate. It returns the indexes of the
// jobs that neither keeps out any more: the job with the id was deleted, or
// the holder finished, in between.
func readKeptOut(ctx context.Context, tx pgx.Tx, jobs []driver.InsertParams, keptOut []int, out []driver.JobRow) ([]int, error) {
	if len(keptOut) == 0 {
		return nil, nil
	}
	var ids, topics, keys []string
	for _, i := range keptOut {
		ids = append(ids, jobs[i].ID)
		if jobs[i].UniqueKey != "" {
			topics, keys = append(topics, jobs[i].Topic), append(keys, jobs[i].UniqueKey)
		}
	}
	rows, err := tx.Query(ctx, keptOutSQL, ids, topics, keys)
	if err != nil {
		return nil, fmt.Errorf("read %d stored jobs: %w", len(keptOut), err)
	}
	stored, err := pgx.CollectRows(rows, scanJob)
	if err != nil {
		return nil, fmt.Errorf("read %d stored jobs: %w", len(keptOut), err)
	}
	type key struct{ topic, key string }
	byID := make(map[string]driver.JobRow, len(stored))
	holders := make(map[key]driver.JobRow)
	for _, r := range stored {
		byID[r.ID] = r
		if r.UniqueKey != "" && (r.Status == driver.StatusPending || r.Status == driver.StatusProcessing) {
			r.Duplicate = true
			holders[key{r.Topic, r.UniqueKey}] = r
		}
	}
	var free []int
	for _, i := range keptOut {
		j := jobs[i]
		if r, ok := byID[j.ID]; ok {
			out[i] = r
		} else if r, ok := holders[key{j.Topic, j.UniqueKey}]; ok && j.UniqueKey != "" {
			out[i] = r
		} else {
			free = append(free, i)
		}
	}
	return free, nil
}
