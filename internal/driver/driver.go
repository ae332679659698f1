// Package driver defines the small interface behind which each database keeps
// its own SQL for the job table, and the row and parameter types shared by the
// root package and every driver implementation.
//
// The package imports nothing of the project, so the root package and all
// drivers can depend on it without cycles.
package driver

import (
	"context"
	"errors"
	"time"
)

// Job statuses as stored in the status column.
const (
	StatusPending    = "pending"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
	StatusCancelled  = "cancelled"
)

// Sentinel errors every driver maps its own errors to.
var (
	// ErrNotFound reports that no job has the given id.
	ErrNotFound = errors.New("job not found")

	// ErrWrongStatus reports that a job exists but is not in a status that
	// allows the requested change.
	ErrWrongStatus = errors.New("job is not in a status that allows this change")

	// ErrUnavailable reports that the database could not be reached: its
	// connection failed or was lost, the server is shutting down or
	// starting, or it is a standby that takes no writes (during a
	// failover). The same call may succeed once it is back.
	ErrUnavailable = errors.New("the job database is unavailable; retrying in the background")
	// ErrRejected reports that the database refused what a statement sent
	// (text it cannot store, a number out of range, a constraint): sending
	// the same values again fails again, unlike after an outage.
	ErrRejected = errors.New("the database refused the values")
)

// JobRow is one row of the job table.
type JobRow struct {
	ID         string
	Topic      string
	Payload    []byte
	Status     string
	RunAt      time.Time
	Attempts   int
	MaxRetries int
	LastError  string
	// LockedUntil is zero when the job holds no lock.
	LockedUntil time.Time
	// LockVersion grows at every claim (by one, or more); finishing a job is
	// fenced by it.
	LockVersion int64
	// Priority orders claims: higher first.
	Priority int
	// UniqueKey is "" for a job without one.
	UniqueKey string
	Created   time.Time
	Updated   time.Time
	// Duplicate is not stored: Insert sets it on the row of an in-flight
	// job it returned instead of inserting one with the same topic and
	// UniqueKey.
	Duplicate bool
}

// InsertParams describes one job to insert as pending.
type InsertParams struct {
	ID         string
	Topic      string
	Payload    []byte
	RunAt      time.Time
	MaxRetries int
	Priority   int
	// UniqueKey, when not "", makes the insert a no-op while a pending or
	// processing job of the same Topic has it: Insert returns that job.
	UniqueKey string
	Now       time.Time
}

// PendingRow is the row an insert of p stores, as a driver reads it back:
// pending, with its times at the microsecond precision every driver keeps.
func (p InsertParams) PendingRow() JobRow {
	now := toMicrosecond(p.Now)
	return JobRow{
		ID: p.ID, Topic: p.Topic, Payload: p.Payload, Status: StatusPending,
		RunAt: toMicrosecond(p.RunAt), MaxRetries: p.MaxRetries, Priority: p.Priority, UniqueKey: p.UniqueKey,
		Created: now, Updated: now,
	}
}

// toMicrosecond is t in UTC, truncated to whole microseconds.
func toMicrosecond(t time.Time) time.Time {
	return time.UnixMicro(t.UnixMicro()).UTC()
}

// ClaimParams selects runnable jobs and locks them for a worker.
type ClaimParams struct {
	// Topics limits the claim to jobs of these topics (those with a
	// handler), each with its own limit and lock. A paused topic's jobs are
	// never claimed.
	Topics []ClaimTopic
	// Limit is the most jobs to claim in all (the number of free workers).
	Limit int
	// Now is the current time: jobs with run_at <= Now are runnable.
	Now time.Time
	// Outcomes, when there are any, are written first, as Finish writes
	// them at Now, in the claim's own transaction: a busy queue records the
	// ends of its last jobs and takes its next ones in one write.
	Outcomes []Outcome
	// Bind, when set, makes the claim late: the other fields are ignored,
	// and the driver calls Bind once, when the claim's transaction holds
	// the write lock on a database with one writer (see OneWriter), or as
	// the claim begins on others, and claims what it returns. A claim that
	// fails before then never calls it. A queue that waits its turn for
	// the one writer thus reserves its workers only once the turn came.
	Bind func() ClaimParams
}

// ClaimTopic is one topic of a claim.
type ClaimTopic struct {
	Topic string
	// Limit is the most jobs of the topic to claim: the room its
	// concurrency limit leaves, or ClaimParams.Limit.
	Limit int
	// LockedUntil is the lock expiry written to the topic's claimed jobs.
	LockedUntil time.Time
}

// Outcome is the end of one claimed attempt, written only if the job still
// holds the claim identified by LockVersion.
type Outcome struct {
	ID          string
	LockVersion int64
	// Status is the new status: completed, pending (retry or release) or failed.
	Status string
	// RunAt is the next run time when Status is pending.
	RunAt     time.Time
	LastError string
	// ReleaseAttempt gives the attempt back (a job released at shutdown was
	// not at fault and keeps its retries).
	ReleaseAttempt bool
}

// ListParams filters and pages a listing. Empty strings match everything.
type ListParams struct {
	Topic  string
	Status string
	Limit  int
	Offset int
}

// Stats counts jobs per status.
type Stats struct {
	Pending    int64
	Processing int64
	Completed  int64
	Failed     int64
	Cancelled  int64
}

// TopicStats is one topic that has jobs or is paused.
type TopicStats struct {
	Topic  string
	Stats  Stats
	Paused bool
}

// RecoverParams turns processing jobs whose lock expired before Now back into
// pending jobs (or failed ones when their attempts are used up).
type RecoverParams struct {
	Now       time.Time
	LastError string
}

// FinishParams are the outcomes of claimed attempts to write, at Now.
type FinishParams struct {
	Outcomes []Outcome
	Now      time.Time
}

// GetParams selects one job.
type GetParams struct {
	ID string
}

// JobsParams selects jobs by id.
type JobsParams struct {
	IDs []string
}

// DeleteParams selects the pending, failed or cancelled job to delete.
type DeleteParams struct {
	ID string
}

// CancelParams selects the pending or processing job to cancel, at Now.
type CancelParams struct {
	ID  string
	Now time.Time
}

// Claim identifies one claim of a job: the job and its lock_version then.
type Claim struct {
	ID          string
	LockVersion int64
}

// LostParams are claims a process holds, to check.
type LostParams struct {
	Claims []Claim
}

// TickParams is one tick of a schedule and the job it enqueues.
type TickParams struct {
	Name string
	Tick time.Time
	Job  InsertParams
}

// PauseParams pauses a topic (Paused true) or resumes it, at Now.
type PauseParams struct {
	Topic  string
	Paused bool
	Now    time.Time
}

// RequeueParams moves a failed or cancelled job back to pending, to run at
// RunAt.
type RequeueParams struct {
	ID    string
	RunAt time.Time
	Now   time.Time
}

// DeleteCompletedParams selects up to Limit completed jobs last updated
// before Before, to delete.
type DeleteCompletedParams struct {
	Before time.Time
	Limit  int
}

// NextRunAtParams selects the pending jobs of Topics (paused topics left
// out), whose earliest run_at NextRunAt returns.
type NextRunAtParams struct {
	Topics []string
}

// ListenParams says what a listener does with each notification.
type ListenParams struct {
	// OnNotify is called for every notification of runnable jobs, and each
	// time the listener starts listening. It runs on the listener's
	// goroutine and should return quickly (signal a channel, say).
	OnNotify func()
	// OnCancel is called, on the same goroutine, with the claim of every
	// job cancelled by any process: its id, and its lock_version when it
	// was cancelled (an attempt of a later claim was not cancelled).
	OnCancel func(Claim)
	// OnChanges is called, on the same goroutine, with the changes every
	// process publishes with PublishChanges (its own included).
	OnChanges func(Changes)
}

// Changes are jobs that one process changed, as it tells the others.
type Changes struct {
	// Origin names the process that made them.
	Origin string
	// Created and Updated are ids of jobs inserted and changed.
	Created, Updated []string
	// Deleted are the jobs deleted, as they were.
	Deleted []DeletedJob
	// Untold counts the changes not told job by job: more than one message
	// carries, or changes of many jobs at once (a cleanup, a recovery).
	Untold int
}

// DeletedJob is what changes tell of a deleted job.
type DeletedJob struct {
	ID, Topic, Status string
}

// Driver is the SQL of one database for the job table, and what the runtime
// needs to know of that database. Every method that takes more than a
// context takes one params struct (Insert, a slice of them: one per job).
//
// Every state change is guarded by the current status, so concurrent callers
// (threads or processes) never move a job along an edge that does not exist.
type Driver interface {
	// Migrate creates or upgrades the schema to the newest version.
	Migrate(ctx context.Context) error

	// ClaimsInFlight is how many claims the dispatcher may have on their
	// way at once.
	ClaimsInFlight() int

	// OneWriter tells whether the database has a single writer that the
	// app's own writes queue for too (SQLite): the dispatcher then spaces
	// its claims and outcome writes, and makes them larger, when they find
	// it busy.
	OneWriter() bool

	// Close releases what the driver holds of its own: prepared statements,
	// a pool it opened.
	Close()

	// Insert stores new pending jobs, all or none, and returns their rows,
	// in order. A job whose UniqueKey a pending or processing job of its
	// topic has (stored before, or earlier in jobs) is not stored: its row
	// is that job's, with Duplicate set. It returns ErrRejected when the
	// database refuses a job's values.
	Insert(ctx context.Context, jobs []InsertParams) ([]JobRow, error)

	// Claim writes p.Outcomes, then moves up to p.Limit runnable jobs of
	// p.Topics to processing (up to each topic's own limit, none of a paused
	// topic), highest priority first, then earliest run_at, then id,
	// counting one attempt and bumping LockVersion for each, and returns
	// them; all in one transaction, so a claim that fails wrote no outcome.
	Claim(ctx context.Context, p ClaimParams) ([]JobRow, error)

	// NextRunAt returns the earliest run_at of pending jobs of p.Topics, or
	// the zero time when there is none. The dispatcher sleeps until then.
	NextRunAt(ctx context.Context, p NextRunAtParams) (time.Time, error)

	// Finish writes the outcomes whose claim is still current and returns how
	// many were written. Outcomes of stale claims are skipped silently.
	Finish(ctx context.Context, p FinishParams) (int, error)

	// RecoverExpired releases processing jobs whose lock has expired and
	// returns how many it changed.
	RecoverExpired(ctx context.Context, p RecoverParams) (int, error)

	// Get returns one job or ErrNotFound.
	Get(ctx context.Context, p GetParams) (JobRow, error)

	// List returns one page of jobs, newest first, and the total matching.
	List(ctx context.Context, p ListParams) ([]JobRow, int64, error)

	// Stats counts jobs per status.
	Stats(ctx context.Context) (Stats, error)

	// Topics returns, in topic order, every topic that has jobs or is
	// paused, with its jobs counted per status.
	Topics(ctx context.Context) ([]TopicStats, error)

	// Jobs returns the jobs of p.IDs that exist, in no particular order.
	Jobs(ctx context.Context, p JobsParams) ([]JobRow, error)

	// Delete removes a pending, failed or cancelled job and returns it as it
	// was. It returns ErrNotFound or ErrWrongStatus when it cannot.
	Delete(ctx context.Context, p DeleteParams) (JobRow, error)

	// Requeue moves a failed or cancelled job back to pending with fresh
	// attempts, to run at p.RunAt. It returns ErrNotFound or ErrWrongStatus
	// when it cannot.
	Requeue(ctx context.Context, p RequeueParams) (JobRow, error)

	// Cancel moves a pending or processing job to cancelled, dropping its
	// lock (so a running attempt's outcome is fenced out), and returns it.
	// A driver with a Listener tells every listening process. It returns
	// ErrNotFound or ErrWrongStatus when it cannot.
	Cancel(ctx context.Context, p CancelParams) (JobRow, error)

	// Lost returns the ids of the claims of p whose job is no longer
	// processing under that claim: cancelled, deleted, or recovered after
	// its lock expired.
	Lost(ctx context.Context, p LostParams) ([]string, error)

	// Tick records a tick of the schedule p.Name at p.Tick and inserts
	// p.Job, in one transaction, unless the schedule's last recorded tick
	// is p.Tick or later: of all processes ticking one schedule, one
	// records each tick. It tells whether it recorded the tick: then the
	// job was inserted, or found in flight by its UniqueKey.
	Tick(ctx context.Context, p TickParams) (bool, error)

	// LastTicks returns the last recorded tick of every schedule that has
	// one, by name.
	LastTicks(ctx context.Context) (map[string]time.Time, error)

	// SetPaused pauses or resumes a topic; it is idempotent. A paused topic
	// stays paused across restarts, for every process, until resumed. A
	// driver with a Listener tells listeners when a topic is resumed, as
	// its jobs may be runnable.
	SetPaused(ctx context.Context, p PauseParams) error

	// DeleteCompleted deletes up to p.Limit completed jobs last updated
	// before p.Before, and returns how many it deleted.
	DeleteCompleted(ctx context.Context, p DeleteCompletedParams) (int, error)

	// WaitingTopics returns, in topic order, the topics whose oldest pending
	// job has been runnable since p.RunnableSince or earlier, paused topics
	// left out (their jobs wait on purpose). It reads one
	// entry per topic with pending jobs, not every pending job.
	WaitingTopics(ctx context.Context, p WaitingParams) ([]WaitingTopic, error)
}

// ServerClock is a driver whose database server has the clock every
// process sharing the database follows (PostgreSQL): the runtime corrects
// its clock to it, so that processes on machines whose clocks drifted
// agree on what is due and which locks expired. The runtime checks for it
// with a type assertion; without it, the process's own clock is the one
// clock (SQLite: one machine).
type ServerClock interface {
	// ServerTime returns the database server's current time.
	ServerTime(ctx context.Context) (time.Time, error)
}

// Listener is a driver whose database tells every process of the jobs that
// become runnable (PostgreSQL). The runtime checks for it with a type
// assertion; without it, jobs stored by other processes are found when the
// dispatcher polls.
type Listener interface {
	// Listen blocks until ctx ends, calling the callbacks of p that are not
	// nil for their notifications; it reconnects by itself when its
	// connection fails.
	Listen(ctx context.Context, p ListenParams) error

	// PublishChanges tells every listening process (this one included) of
	// changes. Changes too large for one notification arrive as their
	// count in Untold. The driver logs an outage itself, once.
	PublishChanges(ctx context.Context, c Changes) error
}
