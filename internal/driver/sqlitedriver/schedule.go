package sqlitedriver

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// tickSQL records the tick {:tick} of the schedule {:name}: it adds the
// schedule's row, or moves its last tick forward, and changes nothing when
// the recorded tick is {:tick} or later.
const tickSQL = `INSERT INTO _jobs_schedules (name, last_tick) VALUES ({:name}, {:tick})
	ON CONFLICT (name) DO UPDATE SET last_tick = excluded.last_tick
	WHERE _jobs_schedules.last_tick < excluded.last_tick`

// Tick records a tick of a schedule and inserts its job, as Insert does, in
// one transaction: under SQLite's single write lock, of all callers with
// one tick, the first records it and the others find it recorded. It
// returns true when it recorded the tick, also when the job is a duplicate
// of one in flight and so was not inserted (see Insert).
func (d *Driver) Tick(ctx context.Context, p driver.TickParams) (bool, error) {
	var ticked bool
	err := d.insertingTx(ctx, func(tx dbx.Builder, insert *sql.Stmt) error {
		res, err := tx.NewQuery(tickSQL).WithContext(ctx).
			Bind(dbx.Params{"name": p.Name, "tick": micros(p.Tick)}).Execute()
		if err != nil {
			return fmt.Errorf("record tick of schedule %s: %w", p.Name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("record tick of schedule %s: %w", p.Name, err)
		}
		if n == 0 {
			return nil
		}
		ticked = true
		if _, err := insertOne(ctx, insert, tx, p.Job); err != nil {
			return fmt.Errorf("insert the job of schedule %s: %w", p.Name, err)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return ticked, nil
}

// lastTicksSQL reads the last recorded tick of every schedule.
const lastTicksSQL = `SELECT name, last_tick FROM _jobs_schedules`

// LastTicks returns the last recorded tick of every schedule, by name.
func (d *Driver) LastTicks(ctx context.Context) (map[string]time.Time, error) {
	rows, err := d.read.NewQuery(lastTicksSQL).WithContext(ctx).Rows()
	if err != nil {
		return nil, fmt.Errorf("read the last ticks of schedules: %w", err)
	}
	defer rows.Close()
	ticks := make(map[string]time.Time)
	for rows.Next() {
		var (
			name string
			tick int64
		)
		if err := rows.Scan(&name, &tick); err != nil {
			return nil, fmt.Errorf("read the last ticks of schedules: %w", err)
		}
		ticks[name] = fromMicros(tick)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the last ticks of schedules: %w", err)
	}
	return ticks, nil
}
