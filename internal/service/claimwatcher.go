package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// ClaimWatcherConfig is what a ClaimWatcher is built from.
type ClaimWatcherConfig struct {
	Driver driver.Driver
	Logger *slog.Logger
	// Running returns the claims of the jobs running in this process.
	Running func() []driver.Claim
	// Lost ends the attempt of a running job whose claim was lost: the job
	// was cancelled, most likely by another process.
	Lost func(driver.Claim)
	// PollInterval is how often the watcher checks.
	PollInterval time.Duration
}

// ClaimWatcher checks every PollInterval whether the jobs running in this
// process still hold their claim, and ends the attempts of those that lost
// it. A job cancelled in this process ends at once without it, and one
// cancelled by another process on PostgreSQL ends when the notification
// comes: the watcher is how a cancel reaches every process on a database
// that sends no notifications, and the fallback of one that lost them.
type ClaimWatcher struct {
	cfg ClaimWatcherConfig
	runner
}

var _ Service = (*ClaimWatcher)(nil)

// NewClaimWatcher returns a claim watcher; Start starts it.
func NewClaimWatcher(cfg ClaimWatcherConfig) *ClaimWatcher {
	return &ClaimWatcher{cfg: cfg, runner: runner{name: "watching running jobs"}}
}

// Start starts watching.
func (w *ClaimWatcher) Start() { w.start(w.run) }

// Stop stops watching.
func (w *ClaimWatcher) Stop(ctx context.Context) error { return w.stop(ctx) }

// run checks the running jobs every PollInterval until quit ends.
func (w *ClaimWatcher) run(quit, _ context.Context) {
	poll := time.NewTicker(w.cfg.PollInterval)
	defer poll.Stop()
	for {
		select {
		case <-quit.Done():
			return
		case <-poll.C:
			w.check(quit)
		}
	}
}

// check ends the attempts of the running jobs whose claim was lost. A
// failed check is left to the next one: the claim loop reports outages of
// the job database.
func (w *ClaimWatcher) check(quit context.Context) {
	claims := w.cfg.Running()
	if len(claims) == 0 {
		return
	}
	ctx, cancel := call(quit)
	defer cancel()
	lost, err := w.cfg.Driver.Lost(ctx, driver.LostParams{Claims: claims})
	if err != nil {
		return
	}
	for _, id := range lost {
		for _, c := range claims {
			if c.ID == id {
				w.cfg.Lost(c)
			}
		}
	}
}
