package service

import (
	"context"
	"log/slog"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Listener wakes the claim loop on every enqueue notification of any
// process sharing a job database that sends them (PostgreSQL), and passes
// on the cancel notifications.
type Listener struct {
	drv    driver.Listener
	params driver.ListenParams
	logger *slog.Logger
	runner
}

var _ Service = (*Listener)(nil)

// NewListener returns a listener that listens through drv, calling wake
// for every notification of runnable jobs and cancel with the claim of
// every cancelled job; Start starts it.
func NewListener(drv driver.Listener, wake func(), cancel func(driver.Claim), logger *slog.Logger) *Listener {
	return &Listener{
		drv:    drv,
		params: driver.ListenParams{OnNotify: wake, OnCancel: cancel},
		logger: logger,
		runner: runner{name: "listening for notifications"},
	}
}

// Start starts listening.
func (l *Listener) Start() { l.start(l.run) }

// Stop stops listening.
func (l *Listener) Stop(ctx context.Context) error { return l.stop(ctx) }

// run listens until quit ends; a listener that stops before that is
// logged, and the claim loop's poll keeps finding other processes' jobs.
func (l *Listener) run(quit, _ context.Context) {
	if err := l.drv.Listen(quit, l.params); err != nil && quit.Err() == nil {
		l.logger.Error("jobs: the notification listener stopped; falling back to polling", "error", err)
	}
}
