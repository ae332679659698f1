package jobs

import (
	"context"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Janitor settings. Each retention round deletes batches of cleanupBatch
// completed jobs, each its own short statement, so the SQLite writer is
// never held for long.
const (
	cleanupBatch     = 500
	cleanupMaxRounds = 100
	cleanupEvery     = time.Minute
	// unhandledWarnAfter is how long runnable jobs of a topic that has no
	// handler in this process may wait before the janitor warns of them.
	unhandledWarnAfter = 5 * time.Minute
)

// janitor, while the dispatcher runs, deletes completed jobs older than
// Config.Retention and warns of topics whose jobs wait with no handler
// here; it returns when ctx ends.
func (r *dispatchRun) janitor(ctx context.Context) {
	defer close(r.janitorDone)
	ticker := time.NewTicker(janitorInterval(r.cfg))
	defer ticker.Stop()
	warned := make(map[string]bool)
	for {
		if r.cfg.Retention >= 0 {
			r.deleteExpired(ctx)
		}
		r.warnUnhandled(ctx, warned)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// janitorInterval runs the janitor every minute, or more often for a short
// retention, but never more often than the poll.
func janitorInterval(cfg Config) time.Duration {
	every := cleanupEvery
	if cfg.Retention >= 0 {
		every = min(every, cfg.Retention/10)
	}
	return max(cfg.PollInterval, every)
}

// warnUnhandled logs a warning, once per topic in this run, for each topic
// whose jobs have been runnable for unhandledWarnAfter while this process
// has no handler for it: such jobs wait until some process registers one.
func (r *dispatchRun) warnUnhandled(ctx context.Context, warned map[string]bool) {
	since := r.clock.Now().Add(-unhandledWarnAfter)
	waiting, err := r.drv.WaitingTopics(ctx, driver.WaitingParams{RunnableSince: since})
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("jobs: looking for jobs that wait with no handler failed; retrying later", "error", err)
		}
		return
	}
	for _, w := range waiting {
		if warned[w.Topic] || r.d.p.handlers.get(w.Topic) != nil {
			continue
		}
		warned[w.Topic] = true
		r.logger.Warn("jobs: jobs of a topic with no handler in this process have waited to run for over "+
			unhandledWarnAfter.String()+"; register a handler for the topic (here or in another process sharing the queue) or delete the jobs",
			"topic", w.Topic, "runnable_since", w.Oldest)
	}
}

// deleteExpired deletes completed jobs past retention, batch by batch.
func (r *dispatchRun) deleteExpired(ctx context.Context) {
	before := r.clock.Now().Add(-r.cfg.Retention)
	for range cleanupMaxRounds {
		n, err := r.drv.DeleteCompleted(ctx, before, cleanupBatch)
		if err != nil {
			if ctx.Err() == nil {
				r.logger.Warn("jobs: deleting old completed jobs failed; retrying later", "error", err)
			}
			return
		}
		if n < cleanupBatch || ctx.Err() != nil {
			return
		}
	}
}
