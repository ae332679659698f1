package jobs

import (
	"errors"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Errors returned by the plugin. They are wrapped with context where they
// occur: compare them with errors.Is, never with == or by their text.
var (
	// ErrNotFound reports that no job has the given id.
	ErrNotFound = driver.ErrNotFound

	// ErrRejected reports a job the job database refused to store although
	// the plugin's own checks passed it (PostgreSQL's data exceptions and
	// integrity violations, such as JSON nested deeper than the server
	// allows).
	ErrRejected = driver.ErrRejected

	// ErrCannotDelete reports a Delete of a job that is processing or
	// completed.
	ErrCannotDelete = errors.New("only pending, failed or cancelled jobs can be deleted")

	// ErrCannotRequeue reports a Requeue of a job that is neither failed nor
	// cancelled.
	ErrCannotRequeue = errors.New("only failed or cancelled jobs can be requeued")

	// ErrCannotCancel reports a Cancel of a job that is completed, failed or
	// cancelled already.
	ErrCannotCancel = errors.New("only pending or processing jobs can be cancelled")

	// ErrJobCancelled is the cause (context.Cause) of a running job's
	// context once the job was cancelled.
	ErrJobCancelled = errors.New("job cancelled")

	// ErrJobTimedOut is the cause (context.Cause) of a running job's context
	// once its topic's HandlerOptions.Timeout passed, and wraps the last
	// error of such an attempt.
	ErrJobTimedOut = errors.New("job timed out")

	// ErrPayloadTooLarge reports a payload whose JSON encoding is longer than
	// Config.MaxPayloadSize.
	ErrPayloadTooLarge = errors.New("payload too large")

	// ErrInvalidPayload reports a payload that cannot be encoded as JSON, is
	// not valid UTF-8, or holds an object with two keys that are equal
	// ignoring case (as encoding/json matches keys).
	ErrInvalidPayload = errors.New("invalid payload")

	// ErrEmptyTopic reports an empty (or blank) topic.
	ErrEmptyTopic = errors.New("topic must not be empty")

	// ErrInvalidTopic reports a topic that is not valid UTF-8 or holds a NUL
	// character.
	ErrInvalidTopic = errors.New("topic must be valid UTF-8 without NUL characters")

	// ErrTopicNotAllowed reports an HTTP enqueue of a topic outside
	// Config.AllowedTopics.
	ErrTopicNotAllowed = errors.New("topic not allowed")

	// ErrTopicAlreadyRegistered reports a second handler for one topic.
	ErrTopicAlreadyRegistered = errors.New("topic already has a handler")

	// ErrNilHandler reports a Register call without a handler.
	ErrNilHandler = errors.New("handler must not be nil")

	// ErrInvalidOptions reports enqueue options out of range (MaxRetries
	// outside NoRetries..MaxRetriesLimit, RunAt outside the years 1..9999,
	// Priority outside MinPriority..MaxPriority, a UniqueKey too long or not
	// text), and negative HandlerOptions.
	ErrInvalidOptions = errors.New("invalid options")

	// ErrInvalidSchedule reports a Schedule with a blank name (or one that
	// is not valid UTF-8 or holds a NUL character), or with a cron
	// expression PocketBase's cron parser refuses.
	ErrInvalidSchedule = errors.New("invalid schedule")

	// ErrScheduleNotFound reports an Unschedule of a name no schedule of
	// this process has.
	ErrScheduleNotFound = errors.New("schedule not found")

	// ErrInvalidFilter reports a List filter out of range (unknown status,
	// negative offset, limit above MaxListLimit).
	ErrInvalidFilter = errors.New("invalid job filter")

	// ErrInvalidConfig reports a Config value or PB_JOBS_* variable that
	// cannot be used. The message names the field or variable.
	ErrInvalidConfig = errors.New("invalid jobs config")

	// ErrDisabled is returned by every store operation when the plugin was
	// registered with Disabled (or PB_JOBS_DISABLED=true).
	ErrDisabled = errors.New("jobs plugin is disabled")

	// ErrNotRegistered is returned by every operation of a store obtained from
	// an app on which Register was never called.
	ErrNotRegistered = errors.New("jobs plugin is not registered on this app")

	// ErrAlreadyRegistered reports a second Register call on one app.
	ErrAlreadyRegistered = errors.New("jobs plugin is already registered on this app")

	// ErrNotReady reports a store used before the app was bootstrapped.
	ErrNotReady = errors.New("jobs store is not ready: the app is not bootstrapped yet")

	// ErrUnavailable reports that the PostgreSQL job database cannot be
	// reached: it could not be opened (the app runs meanwhile, and the
	// plugin keeps trying in the background; the cause is in the app's
	// logs), or a call's connection failed or was lost, or the server is
	// shutting down, starting, or a standby during a failover. The same
	// call may succeed a moment later: retry it (an enqueue with a
	// UniqueKey, to store the job once whatever happened to the first try).
	ErrUnavailable = driver.ErrUnavailable
)
