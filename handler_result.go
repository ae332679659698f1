package jobs

import (
	"errors"
	"fmt"
	"time"
)

// Snooze, returned by a handler (wrapped or not), puts the job back to
// pending, to run again d from now, and gives the attempt back: the job
// keeps all its retries and its last error. A negative d is taken as zero.
func Snooze(d time.Duration) error {
	return &snoozeError{delay: max(d, 0)}
}

// snoozeError is the error Snooze returns.
type snoozeError struct {
	delay time.Duration
}

// Error says how long the job is snoozed for.
func (e *snoozeError) Error() string { return fmt.Sprintf("snoozed for %s", e.delay) }

// SkipRetry, returned by a handler (wrapped or not), fails the job at once,
// whatever retries it has left, with the handler's error as its last error.
// SkipRetry(nil) fails it with the error "retry skipped".
func SkipRetry(err error) error {
	if err == nil {
		err = errRetrySkipped
	}
	return &skipRetryError{err: err}
}

// errRetrySkipped is the error of SkipRetry(nil).
var errRetrySkipped = errors.New("retry skipped")

// skipRetryError is the error SkipRetry returns: the handler's error, marked.
type skipRetryError struct {
	err error
}

// Error is the handler's error's text: the job's last error.
func (e *skipRetryError) Error() string { return e.err.Error() }

// Unwrap returns the handler's error.
func (e *skipRetryError) Unwrap() error { return e.err }
