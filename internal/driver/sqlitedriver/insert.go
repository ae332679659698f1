package sqlitedriver

import (
	"context"
	"fmt"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// insertSQL stores one pending job; an id already stored is left alone.
const insertSQL = `INSERT INTO _jobs (id, topic, payload, status, run_at, max_retries, created, updated)
	VALUES ({:id}, {:topic}, {:payload}, 'pending', {:run_at}, {:max_retries}, {:now}, {:now})
	ON CONFLICT (id) DO NOTHING`

// Insert stores new pending jobs in one transaction. An id already stored
// is left as it is and comes back as stored, so repeating an insert is
// harmless.
func (d *Driver) Insert(ctx context.Context, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	if _, autocommit := d.write.(*dbx.DB); autocommit && len(jobs) == 1 {
		// One job needs no transaction of its own: one prepared statement.
		var row driver.JobRow
		err := d.insertStmt.use(d.write, insertSQL, func(q *dbx.Query) error {
			var err error
			row, err = insertOne(ctx, q, d.write, jobs[0])
			return err
		})
		if err != nil {
			return nil, err
		}
		return []driver.JobRow{row}, nil
	}
	rows := make([]driver.JobRow, 0, len(jobs))
	err := d.transactional(func(tx dbx.Builder) error {
		q := tx.NewQuery(insertSQL).Prepare()
		defer q.Close()
		for _, j := range jobs {
			row, err := insertOne(ctx, q, tx, j)
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

// insertOne runs the prepared insertSQL for j and returns the row as stored,
// reading it back through db when the id was already there.
func insertOne(ctx context.Context, q *dbx.Query, db dbx.Builder, j driver.InsertParams) (driver.JobRow, error) {
	res, err := q.WithContext(ctx).Bind(dbx.Params{
		"id":          j.ID,
		"topic":       j.Topic,
		"payload":     string(j.Payload),
		"run_at":      micros(j.RunAt),
		"max_retries": j.MaxRetries,
		"now":         micros(j.Now),
	}).Execute()
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("insert job %s: %w", j.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return driver.JobRow{}, fmt.Errorf("insert job %s: %w", j.ID, err)
	}
	if n == 0 {
		stored, err := getJob(ctx, db, j.ID)
		if err != nil {
			return driver.JobRow{}, fmt.Errorf("read stored job %s: %w", j.ID, err)
		}
		return stored, nil
	}
	return j.PendingRow(), nil
}
