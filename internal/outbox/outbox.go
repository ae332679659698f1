// Package outbox keeps jobs enqueued inside an app (SQLite) transaction while
// the jobs themselves live in another database (PostgreSQL).
//
// A transactional enqueue writes its job to the _jobs_outbox table of the
// app's database, in the app's transaction: the job commits or rolls back
// with the app's own writes. After the commit a relay copies outbox rows to
// the job database (an insert that is a no-op for an id already there) and
// only then deletes them, so a crash at any point neither loses nor doubles
// a job.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase/dbx"
)

// schema creates the outbox table; it is idempotent.
const schema = `CREATE TABLE IF NOT EXISTS _jobs_outbox (
	id          TEXT PRIMARY KEY NOT NULL,
	topic       TEXT NOT NULL,
	payload     TEXT NOT NULL,
	run_at      INTEGER NOT NULL,
	max_retries INTEGER NOT NULL,
	created     INTEGER NOT NULL
)`

// Migrate creates the outbox table in db.
func Migrate(ctx context.Context, db dbx.Builder) error {
	if _, err := db.NewQuery(schema).WithContext(ctx).Execute(); err != nil {
		return fmt.Errorf("create _jobs_outbox: %w", err)
	}
	return nil
}

// Add writes jobs to the outbox through db (normally a transaction).
func Add(ctx context.Context, db dbx.Builder, jobs []driver.InsertParams) error {
	q := db.NewQuery(`INSERT INTO _jobs_outbox (id, topic, payload, run_at, max_retries, created)
		VALUES ({:id}, {:topic}, {:payload}, {:run_at}, {:max_retries}, {:created})`).WithContext(ctx).Prepare()
	defer q.Close()
	for _, j := range jobs {
		_, err := q.Bind(dbx.Params{
			"id":          j.ID,
			"topic":       j.Topic,
			"payload":     string(j.Payload),
			"run_at":      j.RunAt.UnixMicro(),
			"max_retries": j.MaxRetries,
			"created":     j.Now.UnixMicro(),
		}).Execute()
		if err != nil {
			return fmt.Errorf("add job %s to the outbox: %w", j.ID, err)
		}
	}
	return nil
}

// Peek returns up to limit of the oldest outbox jobs, leaving them in place.
func Peek(ctx context.Context, db dbx.Builder, limit int) ([]driver.InsertParams, error) {
	rows, err := db.NewQuery(`SELECT id, topic, payload, run_at, max_retries, created
		FROM _jobs_outbox ORDER BY created LIMIT {:limit}`).
		WithContext(ctx).Bind(dbx.Params{"limit": limit}).Rows()
	if err != nil {
		return nil, fmt.Errorf("read the outbox: %w", err)
	}
	defer rows.Close()
	var jobs []driver.InsertParams
	for rows.Next() {
		var (
			j              driver.InsertParams
			payload        string
			runAt, created int64
		)
		if err := rows.Scan(&j.ID, &j.Topic, &payload, &runAt, &j.MaxRetries, &created); err != nil {
			return nil, fmt.Errorf("read the outbox: %w", err)
		}
		j.Payload = []byte(payload)
		j.RunAt, j.Now = time.UnixMicro(runAt).UTC(), time.UnixMicro(created).UTC()
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// Remove deletes relayed jobs from the outbox.
func Remove(ctx context.Context, db dbx.Builder, jobs []driver.InsertParams) error {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	encoded, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("encode outbox ids: %w", err)
	}
	_, err = db.NewQuery(`DELETE FROM _jobs_outbox WHERE id IN (SELECT value FROM json_each({:ids}))`).
		WithContext(ctx).Bind(dbx.Params{"ids": string(encoded)}).Execute()
	if err != nil {
		return fmt.Errorf("remove %d jobs from the outbox: %w", len(jobs), err)
	}
	return nil
}
