package sqlitedriver

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Outbox keeps jobs enqueued inside an app (SQLite) transaction while the
// jobs themselves live in another database (PostgreSQL).
//
// A transactional enqueue writes its job to the _jobs_outbox table of the
// app's database, in the app's transaction: the job commits or rolls back
// with the app's own writes. After the commit a relay copies outbox rows to
// the job database (an insert that is a no-op for an id already there) and
// only then deletes them, so a crash at any point neither loses nor doubles
// a job.
//
// A row the job database refuses (or that the relay's checks refuse) is
// moved to the _jobs_outbox_rejected table, with the reason, so that it
// never holds back the rows behind it.
type Outbox struct {
	db dbx.Builder
}

// NewOutbox returns the outbox of the app database db: its write
// connection, or a transaction of it.
func NewOutbox(db dbx.Builder) *Outbox {
	return &Outbox{db: db}
}

// outboxSchema creates the outbox tables; each statement is idempotent. A
// rejected row keeps the outbox row's columns, the reason it was refused
// (error) and when (rejected). Times are microseconds since the Unix epoch,
// as in _jobs.
var outboxSchema = []string{
	`CREATE TABLE IF NOT EXISTS _jobs_outbox (
		id          TEXT PRIMARY KEY NOT NULL,
		topic       TEXT NOT NULL,
		payload     TEXT NOT NULL,
		run_at      INTEGER NOT NULL,
		max_retries INTEGER NOT NULL,
		created     INTEGER NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS _jobs_outbox_rejected (
		id          TEXT PRIMARY KEY NOT NULL,
		topic       TEXT NOT NULL,
		payload     TEXT NOT NULL,
		run_at      INTEGER NOT NULL,
		max_retries INTEGER NOT NULL,
		created     INTEGER NOT NULL,
		error       TEXT NOT NULL,
		rejected    INTEGER NOT NULL
	)`,
}

// outboxColumns are the columns added to both outbox tables after their
// first release, each with its definition. SQLite has no ADD COLUMN IF NOT
// EXISTS: Migrate adds each one a table lacks.
var outboxColumns = []struct{ name, definition string }{
	{"priority", "INTEGER NOT NULL DEFAULT 0"},
	{"unique_key", "TEXT NOT NULL DEFAULT ''"},
}

// outboxHasColumnSQL tells whether the table {:table} has the column
// {:column}.
const outboxHasColumnSQL = `SELECT COUNT(*) FROM pragma_table_info({:table}) WHERE name = {:column}`

// Migrate creates the outbox tables, or adds the columns they lack.
func (o *Outbox) Migrate(ctx context.Context) error {
	for _, statement := range outboxSchema {
		if _, err := o.db.NewQuery(statement).WithContext(ctx).Execute(); err != nil {
			return fmt.Errorf("create the outbox tables: %w", err)
		}
	}
	for _, table := range []string{"_jobs_outbox", "_jobs_outbox_rejected"} {
		for _, c := range outboxColumns {
			var has int
			err := o.db.NewQuery(outboxHasColumnSQL).WithContext(ctx).
				Bind(dbx.Params{"table": table, "column": c.name}).Row(&has)
			if err != nil {
				return fmt.Errorf("read the columns of %s: %w", table, err)
			}
			if has > 0 {
				continue
			}
			// Both names are constants of this file, never input.
			_, err = o.db.NewQuery(`ALTER TABLE ` + table + ` ADD COLUMN ` + c.name + ` ` + c.definition).
				WithContext(ctx).Execute()
			if err != nil {
				return fmt.Errorf("add column %s to %s: %w", c.name, table, err)
			}
		}
	}
	return nil
}

// outboxAddSQL writes one job to the outbox.
const outboxAddSQL = `INSERT INTO _jobs_outbox (id, topic, payload, run_at, max_retries, priority, unique_key, created)
	VALUES ({:id}, {:topic}, {:payload}, {:run_at}, {:max_retries}, {:priority}, {:unique_key}, {:now})`

// Add writes jobs to the outbox (normally in a transaction).
func (o *Outbox) Add(ctx context.Context, jobs []driver.InsertParams) error {
	q := o.db.NewQuery(outboxAddSQL).WithContext(ctx).Prepare()
	defer q.Close()
	for _, j := range jobs {
		_, err := q.Bind(outboxBindings(j)).Execute()
		if err != nil {
			return fmt.Errorf("add job %s to the outbox: %w", j.ID, err)
		}
	}
	return nil
}

// outboxBindings are the parameters of outboxAddSQL for j: those of
// insertSQL (see insertArgs), whose names the outbox's columns share.
func outboxBindings(j driver.InsertParams) dbx.Params {
	params := dbx.Params{}
	for _, arg := range insertArgs(j) {
		named := arg.(sql.NamedArg)
		params[named.Name] = named.Value
	}
	return params
}

// outboxPeekSQL reads the oldest outbox jobs.
const outboxPeekSQL = `SELECT id, topic, payload, run_at, max_retries, priority, unique_key, created
	FROM _jobs_outbox ORDER BY created LIMIT {:limit}`

// Peek returns up to limit of the oldest outbox jobs, leaving them in place.
func (o *Outbox) Peek(ctx context.Context, limit int) ([]driver.InsertParams, error) {
	rows, err := o.db.NewQuery(outboxPeekSQL).WithContext(ctx).Bind(dbx.Params{"limit": limit}).Rows()
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
		if err := rows.Scan(&j.ID, &j.Topic, &payload, &runAt, &j.MaxRetries, &j.Priority, &j.UniqueKey, &created); err != nil {
			return nil, fmt.Errorf("read the outbox: %w", err)
		}
		j.Payload = []byte(payload)
		j.RunAt, j.Now = fromMicros(runAt), fromMicros(created)
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// outboxRemoveSQL deletes the outbox jobs whose ids a JSON array lists.
const outboxRemoveSQL = `DELETE FROM _jobs_outbox WHERE id IN (SELECT value FROM json_each({:ids}))`

// Remove deletes relayed jobs from the outbox.
func (o *Outbox) Remove(ctx context.Context, jobs []driver.InsertParams) error {
	if len(jobs) == 0 {
		return nil
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	encoded, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("encode outbox ids: %w", err)
	}
	_, err = o.db.NewQuery(outboxRemoveSQL).WithContext(ctx).Bind(dbx.Params{"ids": string(encoded)}).Execute()
	if err != nil {
		return fmt.Errorf("remove %d jobs from the outbox: %w", len(jobs), err)
	}
	return nil
}

// outboxRejectSQL copies an outbox job to _jobs_outbox_rejected with the
// reason it cannot be relayed, keeping the first reason of a job copied
// before; outboxDeleteSQL then deletes it from the outbox.
const (
	outboxRejectSQL = `INSERT INTO _jobs_outbox_rejected
			(id, topic, payload, run_at, max_retries, priority, unique_key, created, error, rejected)
		SELECT id, topic, payload, run_at, max_retries, priority, unique_key, created, {:error}, {:rejected}
		FROM _jobs_outbox WHERE id = {:id}
		ON CONFLICT (id) DO NOTHING`
	outboxDeleteSQL = `DELETE FROM _jobs_outbox WHERE id = {:id}`
)

// Reject moves the job with the given id from the outbox to
// _jobs_outbox_rejected, with the reason it cannot be relayed, and tells
// whether this call moved it: false when another relay (of another process
// on the same app database) did first. A crash between the two steps leaves
// the job in both tables; moving it again keeps the first reason.
func (o *Outbox) Reject(ctx context.Context, id, reason string, now time.Time) (bool, error) {
	_, err := o.db.NewQuery(outboxRejectSQL).WithContext(ctx).
		Bind(dbx.Params{"id": id, "error": reason, "rejected": micros(now)}).Execute()
	if err != nil {
		return false, fmt.Errorf("move job %s to _jobs_outbox_rejected: %w", id, err)
	}
	result, err := o.db.NewQuery(outboxDeleteSQL).WithContext(ctx).Bind(dbx.Params{"id": id}).Execute()
	if err != nil {
		return false, fmt.Errorf("remove rejected job %s from the outbox: %w", id, err)
	}
	removed, err := result.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("remove rejected job %s from the outbox: %w", id, err)
	}
	return removed > 0, nil
}
