package sqlitedriver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// insertSQL stores one pending job, unless its id is stored already or its
// unique key is held by a pending or processing job of its topic: then it
// changes nothing.
const insertSQL = `INSERT INTO _jobs (id, topic, payload, status, run_at, max_retries, priority, unique_key, created, updated)
	VALUES (:id, :topic, :payload, 'pending', :run_at, :max_retries, :priority, :unique_key, :now, :now)
	ON CONFLICT DO NOTHING`

// keyHolderSQL reads the pending or processing job of a topic that holds a
// unique key, through the unique index (whose condition it states, as
// SQLite uses a partial index only for a query that does).
const keyHolderSQL = `SELECT ` + jobColumns + ` FROM _jobs
	WHERE topic = {:topic} AND unique_key = {:unique_key}
		AND unique_key <> '' AND status IN ('pending', 'processing')`

// Insert stores new pending jobs in one transaction. An id already stored
// is left as it is and comes back as stored, so repeating an insert is
// harmless. A job whose unique key a pending or processing job of its topic
// holds, stored before or earlier in jobs, comes back as that job, marked
// Duplicate. The transaction holds SQLite's write lock from its first
// insert, so no job can take or free a key between an insert that found it
// taken and the read of its holder.
//
// Single jobs without a key, outside a caller's transaction — an app's
// enqueues from its request handlers — are grouped (see insertGroup): the
// ones that arrive while another is written wait, and are written together
// in the next writer turn.
func (d *Driver) Insert(ctx context.Context, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	if _, autocommit := d.write.(*dbx.DB); autocommit && len(jobs) == 1 && jobs[0].UniqueKey == "" {
		row, err := d.group.insert(ctx, jobs[0], d.insertGrouped)
		if err != nil {
			return nil, err
		}
		return []driver.JobRow{row}, nil
	}
	return d.insertTx(ctx, jobs)
}

// insertGrouped writes a group of jobs without keys: one alone needs no
// transaction of its own, only the prepared statement.
func (d *Driver) insertGrouped(ctx context.Context, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	if len(jobs) > 1 {
		return d.insertTx(ctx, jobs)
	}
	insert, err := d.stmts.insert.prepare(ctx, d.handle)
	if err != nil {
		return nil, fmt.Errorf("insert job %s: %w", jobs[0].ID, err)
	}
	row, err := insertOne(ctx, insert, d.write, jobs[0])
	if err != nil {
		return nil, err
	}
	return []driver.JobRow{row}, nil
}

// insertTx stores jobs in one transaction: the driver's own, or the
// caller's it is bound to.
func (d *Driver) insertTx(ctx context.Context, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	rows := make([]driver.JobRow, 0, len(jobs))
	err := d.insertingTx(ctx, func(tx dbx.Builder, insert *sql.Stmt) error {
		for _, j := range jobs {
			row, err := insertOne(ctx, insert, tx, j)
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

// insertingTx runs fn in a transaction of d.write (see transactional) with
// the insert statement bound to it.
func (d *Driver) insertingTx(ctx context.Context, fn func(tx dbx.Builder, insert *sql.Stmt) error) error {
	if _, own := d.write.(*dbx.DB); own {
		if _, err := d.stmts.insert.prepare(ctx, d.handle); err != nil {
			return fmt.Errorf("prepare the insert: %w", err)
		}
	}
	return d.transactional(func(tx dbx.Builder) error {
		sqlTx, err := callerTx(tx)
		if err != nil {
			return err
		}
		insert, err := d.stmts.insert.in(ctx, d.handle, sqlTx)
		if err != nil {
			return fmt.Errorf("prepare the insert: %w", err)
		}
		return fn(tx, insert)
	})
}

// insertArgs are the parameters of insertSQL for j: :now is when it was
// enqueued.
func insertArgs(j driver.InsertParams) []any {
	return []any{
		sql.Named("id", j.ID), sql.Named("topic", j.Topic), sql.Named("payload", string(j.Payload)),
		sql.Named("run_at", micros(j.RunAt)), sql.Named("max_retries", j.MaxRetries),
		sql.Named("priority", j.Priority), sql.Named("unique_key", j.UniqueKey), sql.Named("now", micros(j.Now)),
	}
}

// insertOne runs the prepared insertSQL stmt for j and returns the row as
// stored, reading through db (in the insert's transaction, if any) the job
// that kept it from being inserted.
func insertOne(ctx context.Context, stmt *sql.Stmt, db dbx.Builder, j driver.InsertParams) (driver.JobRow, error) {
	res, err := stmt.ExecContext(ctx, insertArgs(j)...)
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("insert job %s: %w", j.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("insert job %s: %w", j.ID, err)
	}
	if n == 0 {
		stored, err := conflicting(ctx, db, j)
		if err != nil {
			return driver.JobRow{}, fmt.Errorf("read the job stored instead of %s: %w", j.ID, err)
		}
		return stored, nil
	}
	return j.PendingRow(), nil
}

// conflicting returns the job that kept j from being inserted: the job
// with its id, or else the holder of its unique key, marked Duplicate.
func conflicting(ctx context.Context, db dbx.Builder, j driver.InsertParams) (driver.JobRow, error) {
	stored, err := getJob(ctx, db, j.ID)
	if !errors.Is(err, driver.ErrNotFound) || j.UniqueKey == "" {
		return stored, err
	}
	rows, err := queryRows(db.NewQuery(keyHolderSQL).WithContext(ctx).
		Bind(dbx.Params{"topic": j.Topic, "unique_key": j.UniqueKey}))
	if err != nil {
		return driver.JobRow{}, err
	}
	if len(rows) == 0 {
		return driver.JobRow{}, driver.ErrNotFound
	}
	holder := rows[0]
	holder.Duplicate = true
	return holder, nil
}
