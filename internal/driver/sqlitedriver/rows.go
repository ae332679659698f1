package sqlitedriver

import (
	"database/sql"
	"time"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// jobColumns is the select list every queryRows call reads, in its order.
const jobColumns = `id, topic, payload, status, run_at, attempts, max_retries,
	last_error, locked_until, lock_version, priority, unique_key, created, updated`

// queryRows runs q and scans every job row it returns.
func queryRows(q *dbx.Query) ([]driver.JobRow, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	return scanRows(rows.Rows, nil)
}

// scanRows scans every job row of rows, the result of a query that
// selected jobColumns or failed with err, and closes rows.
func scanRows(rows *sql.Rows, err error) ([]driver.JobRow, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []driver.JobRow
	for rows.Next() {
		r, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// scanJob scans the current row of rows: the columns of the targets
// before, then jobColumns.
func scanJob(rows *sql.Rows, before ...any) (driver.JobRow, error) {
	var (
		r                                    driver.JobRow
		payload                              string
		runAt, lockedUntil, created, updated int64
	)
	targets := append(before, &r.ID, &r.Topic, &payload, &r.Status, &runAt, &r.Attempts, &r.MaxRetries,
		&r.LastError, &lockedUntil, &r.LockVersion, &r.Priority, &r.UniqueKey, &created, &updated)
	if err := rows.Scan(targets...); err != nil {
		return driver.JobRow{}, err
	}
	r.Payload = []byte(payload)
	r.RunAt, r.LockedUntil = fromMicros(runAt), fromLockMicros(lockedUntil)
	r.Created, r.Updated = fromMicros(created), fromMicros(updated)
	return r, nil
}

// statsTargets are the fields of s, in the order of statusCounts.
func statsTargets(s *driver.Stats) []any {
	return []any{&s.Pending, &s.Processing, &s.Completed, &s.Failed, &s.Cancelled}
}

// topicTargets are the fields of ts, in the order of topicsSQL.
func topicTargets(ts *driver.TopicStats) []any {
	return append(append([]any{&ts.Topic}, statsTargets(&ts.Stats)...), &ts.Paused)
}

// micros encodes t as stored: microseconds since the Unix epoch, negative
// before it. Every time is kept, the epoch and the zero time included; only
// a lock expiry has a stored "no time" (see lockMicros).
func micros(t time.Time) int64 {
	return t.UnixMicro()
}

// fromMicros decodes a time stored by micros.
func fromMicros(v int64) time.Time {
	return time.UnixMicro(v).UTC()
}

// noLock is the locked_until of a job that holds no lock. No lock ends at
// the epoch itself: a claim locks a job until after the claim's now.
const noLock = 0

// lockMicros encodes a lock expiry: the zero time, no lock, is noLock.
func lockMicros(t time.Time) int64 {
	if t.IsZero() {
		return noLock
	}
	return micros(t)
}

// fromLockMicros decodes a locked_until: noLock is the zero time.
func fromLockMicros(v int64) time.Time {
	if v == noLock {
		return time.Time{}
	}
	return fromMicros(v)
}
