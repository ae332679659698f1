// Package outage logs an outage of something the job runtime depends on
// once when it starts and once when it ends, however many attempts fail in
// between: a service that retries every poll interval would otherwise log
// once per poll.
package outage

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Log follows one kind of outage of one service, such as "the job database
// cannot be reached" for the claim loop. It is safe for concurrent use.
type Log struct {
	logger *slog.Logger
	// level is the level of down, the message of the outage's start.
	level slog.Level
	// down is logged, with the error, when an outage starts; up, at info
	// level, when it ends.
	down, up string
	// out is set while an outage lasts.
	out atomic.Bool
}

// New returns a Log that reports the start of an outage as down at level,
// and its end as up at info level.
func New(logger *slog.Logger, level slog.Level, down, up string) *Log {
	return &Log{logger: logger, level: level, down: down, up: up}
}

// Failed reports a failed attempt: the first after a success (or the first
// ever) logs the start of an outage, with err and the key-value pairs of
// args.
func (l *Log) Failed(err error, args ...any) {
	if l.out.CompareAndSwap(false, true) {
		l.logger.Log(context.Background(), l.level, l.down, append([]any{"error", err}, args...)...)
	}
}

// Recovered reports a successful attempt: the first after a failure logs
// the end of the outage.
func (l *Log) Recovered() {
	if l.out.CompareAndSwap(true, false) {
		l.logger.Info(l.up)
	}
}
