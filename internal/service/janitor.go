package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Janitor settings. Each retention round deletes batches of cleanupBatch
// completed jobs, each its own short statement, so the SQLite writer is
// never held for long.
const (
	cleanupBatch     = 500
	cleanupMaxRounds = 100
	cleanupEvery     = time.Minute
	// UnhandledWarnAfter is how long runnable jobs of a topic that has no
	// handler in this process may wait before the janitor warns of them.
	UnhandledWarnAfter = 5 * time.Minute
)

// JanitorConfig is what a Janitor is built from.
type JanitorConfig struct {
	Driver driver.Driver
	Logger *slog.Logger
	Clock  *clock.Clock
	// Handled tells whether a topic has a handler in this process.
	Handled func(topic string) bool
	// Retention is how long completed jobs are kept; negative keeps them.
	Retention time.Duration
	// PollInterval is the dispatcher's: the janitor never runs more often.
	PollInterval time.Duration
}

// Janitor deletes completed jobs older than the retention and warns of
// topics whose jobs wait with no handler here.
type Janitor struct {
	cfg JanitorConfig
	runner
}

var _ Service = (*Janitor)(nil)

// NewJanitor returns a janitor; Start starts it.
func NewJanitor(cfg JanitorConfig) *Janitor {
	return &Janitor{cfg: cfg, runner: runner{name: "deleting old jobs"}}
}

// Start starts the janitor's rounds, the first at once.
func (j *Janitor) Start() { j.start(j.run) }

// Stop ends the janitor, cancelling the round in progress.
func (j *Janitor) Stop(ctx context.Context) error { return j.stop(ctx) }

// run makes a round at once and then every interval, until quit ends; a
// stop cancels the round in progress.
func (j *Janitor) run(quit, _ context.Context) {
	ticker := time.NewTicker(j.interval())
	defer ticker.Stop()
	warned := make(map[string]bool)
	for {
		if j.cfg.Retention >= 0 {
			j.deleteExpired(quit)
		}
		j.warnUnhandled(quit, warned)
		select {
		case <-quit.Done():
			return
		case <-ticker.C:
		}
	}
}

// interval runs the janitor every minute, or more often for a short
// retention, but never more often than the poll.
func (j *Janitor) interval() time.Duration {
	every := cleanupEvery
	if j.cfg.Retention >= 0 {
		every = min(every, j.cfg.Retention/10)
	}
	return max(j.cfg.PollInterval, every)
}

// warnUnhandled logs a warning, once per topic in this run, for each topic
// whose jobs have been runnable for UnhandledWarnAfter while this process
// has no handler for it: such jobs wait until some process registers one.
func (j *Janitor) warnUnhandled(quit context.Context, warned map[string]bool) {
	ctx, cancel := call(quit)
	defer cancel()
	since := j.cfg.Clock.Now().Add(-UnhandledWarnAfter)
	waiting, err := j.cfg.Driver.WaitingTopics(ctx, driver.WaitingParams{RunnableSince: since})
	if err != nil {
		if quit.Err() == nil {
			j.cfg.Logger.Warn("jobs: looking for jobs that wait with no handler failed; retrying later", "error", err)
		}
		return
	}
	for _, w := range waiting {
		if warned[w.Topic] || j.cfg.Handled(w.Topic) {
			continue
		}
		warned[w.Topic] = true
		j.cfg.Logger.Warn("jobs: a topic with no handler in this process has jobs that have waited to run for over "+
			UnhandledWarnAfter.String()+"; register a handler for the topic (here or in another process sharing the queue) or delete the jobs",
			"topic", w.Topic, "runnable_since", w.Oldest)
	}
}

// deleteExpired deletes completed jobs past retention, batch by batch.
func (j *Janitor) deleteExpired(quit context.Context) {
	before := j.cfg.Clock.Now().Add(-j.cfg.Retention)
	for range cleanupMaxRounds {
		n, err := j.deleteBatch(quit, before)
		if err != nil {
			if quit.Err() == nil {
				j.cfg.Logger.Warn("jobs: deleting old completed jobs failed; retrying later", "error", err)
			}
			return
		}
		if n < cleanupBatch || quit.Err() != nil {
			return
		}
	}
}

// deleteBatch deletes one batch of completed jobs last updated before
// before.
func (j *Janitor) deleteBatch(quit context.Context, before time.Time) (int, error) {
	ctx, cancel := call(quit)
	defer cancel()
	return j.cfg.Driver.DeleteCompleted(ctx, driver.DeleteCompletedParams{Before: before, Limit: cleanupBatch})
}
