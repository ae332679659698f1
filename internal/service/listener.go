package service

import (
	"context"
	"log/slog"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Listener passes on the notifications of a job database that sends them
// (PostgreSQL) to the callbacks of its driver.ListenParams: those of
// runnable jobs and cancels to the dispatcher, those of changes to the
// realtime feed.
type Listener struct {
	drv    driver.Listener
	params driver.ListenParams
	logger *slog.Logger
	runner
}

var _ Service = (*Listener)(nil)

// NewListener returns a listener that listens through drv for the
// notifications params has callbacks for; Start starts it.
func NewListener(drv driver.Listener, params driver.ListenParams, logger *slog.Logger) *Listener {
	return &Listener{
		drv:    drv,
		params: params,
		logger: logger,
		runner: runner{name: "listening for notifications"},
	}
}

// Start starts listening.
func (l *Listener) Start() { l.start(l.run) }

// Stop stops listening.
func (l *Listener) Stop(ctx context.Context) error { return l.stop(ctx) }

// run listens until quit ends; a listener that stops before that is
// logged (the claim loop's poll keeps finding other processes' jobs).
func (l *Listener) run(quit, _ context.Context) {
	if err := l.drv.Listen(quit, l.params); err != nil && quit.Err() == nil {
		l.logger.Error("jobs: the notification listener stopped; falling back to polling", "error", err)
	}
}
