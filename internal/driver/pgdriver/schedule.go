package pgdriver

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// tickSQL records the tick $2 of the schedule $1: it adds the schedule's
// row, or moves its last tick forward, and changes nothing when the
// recorded tick is $2 or later. Of concurrent transactions recording one
// tick, the later ones wait for the first on the row (or on its insertion)
// and, once it committed, find the tick recorded.
const tickSQL = `INSERT INTO _jobs_schedules (name, last_tick) VALUES ($1, $2)
	ON CONFLICT (name) DO UPDATE SET last_tick = excluded.last_tick
	WHERE _jobs_schedules.last_tick < excluded.last_tick`

// Tick records a tick of a schedule and inserts its job, as Insert does, in
// one transaction, and then announces the job. Of all callers with one
// tick, in any number of processes, one records it. It returns true when it
// recorded the tick, also when the job is a duplicate of one in flight and
// so was not inserted (see Insert).
func (d *Driver) Tick(ctx context.Context, p driver.TickParams) (bool, error) {
	var ticked bool
	inserted := 0
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, tickSQL, p.Name, ts(p.Tick))
		if err != nil {
			return fmt.Errorf("record tick of schedule %s: %w", p.Name, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		ticked = true
		_, inserted, err = insertMissingIn(ctx, tx, []driver.InsertParams{p.Job})
		if err != nil {
			return fmt.Errorf("insert the job of schedule %s: %w", p.Name, err)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if inserted > 0 {
		d.announcer.announce()
	}
	return ticked, nil
}

// lastTicksSQL reads the last recorded tick of every schedule.
const lastTicksSQL = `SELECT name, last_tick FROM _jobs_schedules`

// LastTicks returns the last recorded tick of every schedule, by name.
func (d *Driver) LastTicks(ctx context.Context) (map[string]time.Time, error) {
	rows, err := d.pool.Query(ctx, lastTicksSQL)
	if err != nil {
		return nil, fmt.Errorf("read the last ticks of schedules: %w", err)
	}
	ticks := make(map[string]time.Time)
	var (
		name string
		tick time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &tick}, func() error {
		ticks[name] = tick.UTC()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the last ticks of schedules: %w", err)
	}
	return ticks, nil
}
