package pgdriver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// jobColumns is the select list every scanJob call reads, in its order.
const jobColumns = `id, topic, payload::text, status, run_at, attempts, max_retries,
	last_error, locked_until, lock_version, priority, unique_key, created, updated`

// scanJob reads one row selected with jobColumns; it fits pgx.CollectRows.
func scanJob(row pgx.CollectableRow) (driver.JobRow, error) {
	var (
		r                   driver.JobRow
		payload             string
		runAt, created, upd time.Time
		lockedUntil         pgtype.Timestamptz
	)
	err := row.Scan(&r.ID, &r.Topic, &payload, &r.Status, &runAt, &r.Attempts, &r.MaxRetries,
		&r.LastError, &lockedUntil, &r.LockVersion, &r.Priority, &r.UniqueKey, &created, &upd)
	if err != nil {
		return driver.JobRow{}, err
	}
	r.Payload = []byte(payload)
	r.RunAt, r.Created, r.Updated = runAt.UTC(), created.UTC(), upd.UTC()
	if lockedUntil.Valid {
		r.LockedUntil = lockedUntil.Time.UTC()
	}
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

// ts converts t to the stored precision: PostgreSQL keeps microseconds, and
// truncating here (rather than letting the server round) gives the same
// value the SQLite driver stores.
func ts(t time.Time) time.Time {
	return t.Truncate(time.Microsecond)
}

// nullTS is ts for nullable columns and parameters: the zero time is NULL.
func nullTS(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: ts(t), Valid: true}
}

// uniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const uniqueViolation = "23505"

// isUniqueViolation tells whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == uniqueViolation
}

// refusalClasses are the SQLSTATE classes of errors caused by the values a
// statement sent rather than by the server or the connection: 22 data
// exception (text that is not UTF-8, a number out of range), 23 integrity
// constraint violation, and 54 program limit exceeded (JSON nested deeper
// than the server's max_stack_depth allows, an index row too large).
var refusalClasses = []string{"22", "23", "54"}

// unavailableCodes are the SQLSTATEs of a server that cannot serve the
// statement now but may soon: admin_shutdown, crash_shutdown,
// cannot_connect_now, and read_only_sql_transaction (a standby, or a
// primary being demoted, during a failover); the whole class 08
// (connection exception) is too.
var unavailableCodes = []string{"57P01", "57P02", "57P03", "25006"}

// unreachable tells whether err says the server could not be reached or
// could not serve the statement for now, rather than refusing it.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || slices.Contains(unavailableCodes, pgErr.Code)
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// interpretError maps pgx's errors to the driver's sentinels: no rows is
// ErrNotFound, an error of one of the refusalClasses is ErrRejected, and a
// server that could not be reached is ErrUnavailable (both still wrapping
// the server's error). Insert handles the unique violation of an id
// already stored, or of a unique key held, before it gets here. Other
// errors pass through unchanged.
func interpretError(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return driver.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) == 5 && slices.Contains(refusalClasses, pgErr.Code[:2]) {
		return fmt.Errorf("%w: %w", driver.ErrRejected, err)
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", driver.ErrUnavailable, err)
	}
	return err
}
