package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Job statuses. A job moves pending → processing → completed, processing →
// pending (retry, snooze), processing → failed (retries used up, SkipRetry),
// pending or processing → cancelled (Cancel), and failed or cancelled →
// pending (Requeue); no other move exists. Completed, failed and cancelled
// are final until a Requeue.
const (
	StatusPending    = driver.StatusPending
	StatusProcessing = driver.StatusProcessing
	StatusCompleted  = driver.StatusCompleted
	StatusFailed     = driver.StatusFailed
	StatusCancelled  = driver.StatusCancelled
)

// NoRetries, as JobEnqueueOptions.MaxRetries or Config.MaxRetries, asks for
// a single attempt: MaxRetries 0 there means the default.
const NoRetries = -1

// Job is one unit of work. Its JSON form is the one of the HTTP API.
type Job struct {
	// ID is a 15 character random id, like PocketBase record ids.
	ID    string `json:"id"`
	Topic string `json:"topic"`
	// Payload is the JSON the job was enqueued with.
	Payload json.RawMessage `json:"payload"`
	// Status is one of StatusPending, StatusProcessing, StatusCompleted,
	// StatusFailed and StatusCancelled.
	Status string `json:"status"`
	// RunAt is when the job becomes runnable (for a pending job, its next run).
	RunAt time.Time `json:"run_at"`
	// Retries counts the retries used or scheduled: 0 for a job on its first
	// attempt, 1 after the first failure, MaxRetries when it failed for good.
	Retries int `json:"retries"`
	// MaxRetries is how many retries the job gets after its first attempt.
	MaxRetries int `json:"max_retries"`
	// Attempts counts the times the job was claimed to run (a crashed
	// attempt counts too).
	Attempts int `json:"attempts"`
	// LastError is the error of the most recent failed attempt, if any.
	LastError string `json:"last_error"`
	// LockedUntil is when the current claim expires; zero unless processing.
	LockedUntil time.Time `json:"locked_until,omitzero"`
	// Priority orders runnable jobs: higher runs first.
	Priority int `json:"priority"`
	// UniqueKey is the key the job was enqueued with, or "".
	UniqueKey string    `json:"unique_key"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	// Duplicate is true only on the job an enqueue returned instead of
	// storing a new one: an in-flight job of the same topic had the
	// UniqueKey. It is not stored: Get never sets it.
	Duplicate bool `json:"duplicate,omitempty"`

	ctx         context.Context
	lockVersion int64
}

// UnmarshalPayload decodes the job's JSON payload into v.
func (j *Job) UnmarshalPayload(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return fmt.Errorf("unmarshal payload of job %s: %w", j.ID, err)
	}
	return nil
}

// Context returns the context of the running attempt: it ends when the
// job's lock expires, when its topic's HandlerOptions.Timeout passes, when
// the job is cancelled (context.Cause is then ErrJobCancelled) and when the
// dispatcher shuts down. Outside a handler it is context.Background().
func (j *Job) Context() context.Context {
	if j.ctx == nil {
		return context.Background()
	}
	return j.ctx
}

// JobEnqueueOptions tunes one enqueue. A zero field takes its default, so
// the zero value (or nil) enqueues like Enqueue.
type JobEnqueueOptions struct {
	// RunAt delays the job until then; zero means now.
	RunAt time.Time
	// MaxRetries is the number of retries after the first attempt. 0 uses
	// Config.MaxRetries (3 by default); NoRetries (-1) asks for a single
	// attempt. (In the HTTP enqueue body, which can leave max_retries out to
	// ask for the default, "max_retries": 0 means no retries.)
	MaxRetries int
	// Priority orders runnable jobs: higher runs first, among jobs of equal
	// priority the earliest run_at. MinPriority..MaxPriority; default 0.
	Priority int
	// UniqueKey, when not "", makes the enqueue a no-op while a pending or
	// processing job of the same topic has the same key: the enqueue then
	// returns that job, with Duplicate set, and a nil error. Once that job
	// is completed, failed or cancelled, the key is free again. At most
	// MaxUniqueKeyLength bytes of valid UTF-8 without NUL characters.
	UniqueKey string
}

// Bounds of JobEnqueueOptions.Priority and UniqueKey.
const (
	MinPriority        = -1000
	MaxPriority        = 1000
	MaxUniqueKeyLength = 255
)

// JobFilter selects jobs for List. Empty fields match every job.
type JobFilter struct {
	Topic string
	// Status is "", or one of the five statuses.
	Status string
	// Limit is the page size: 0 means DefaultListLimit, at most MaxListLimit.
	Limit int
	// Offset skips that many jobs (newest first).
	Offset int
}

// Page sizes of List.
const (
	DefaultListLimit = 20
	MaxListLimit     = 500
)

// JobList is one page of List.
type JobList struct {
	Items  []*Job `json:"items"`
	Total  int64  `json:"total"`
	Limit  int    `json:"limit"`
	Offset int    `json:"offset"`
}

// JobStats counts jobs per status.
type JobStats struct {
	Pending    int64 `json:"pending"`
	Processing int64 `json:"processing"`
	Completed  int64 `json:"completed"`
	Failed     int64 `json:"failed"`
	Cancelled  int64 `json:"cancelled"`
	Total      int64 `json:"total"`
}

// statsFromDriver converts the driver's counts, adding up the total.
func statsFromDriver(st driver.Stats) JobStats {
	return JobStats{
		Pending:    st.Pending,
		Processing: st.Processing,
		Completed:  st.Completed,
		Failed:     st.Failed,
		Cancelled:  st.Cancelled,
		Total:      st.Pending + st.Processing + st.Completed + st.Failed + st.Cancelled,
	}
}

// jobFromRow converts a stored row to the public type.
func jobFromRow(r driver.JobRow) *Job {
	retries := r.Attempts
	if r.Status != StatusPending && retries > 0 {
		retries-- // the running, finished or failed attempt was the first or a retry
	}
	return &Job{
		ID:          r.ID,
		Topic:       r.Topic,
		Payload:     json.RawMessage(r.Payload),
		Status:      r.Status,
		RunAt:       r.RunAt,
		Retries:     retries,
		MaxRetries:  r.MaxRetries,
		Attempts:    r.Attempts,
		LastError:   r.LastError,
		LockedUntil: r.LockedUntil,
		Priority:    r.Priority,
		UniqueKey:   r.UniqueKey,
		Created:     r.Created,
		Updated:     r.Updated,
		Duplicate:   r.Duplicate,
		lockVersion: r.LockVersion,
	}
}

// isValidStatus tells whether s is one of the five statuses.
func isValidStatus(s string) bool {
	switch s {
	case StatusPending, StatusProcessing, StatusCompleted, StatusFailed, StatusCancelled:
		return true
	}
	return false
}
