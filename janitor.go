package jobs

import (
	"context"
	"time"
)

// Retention clean-up settings: each round deletes batches of
// cleanupBatch completed jobs, each its own short statement, so the SQLite
// writer is never held for long.
const (
	cleanupBatch     = 500
	cleanupMaxRounds = 100
	cleanupEvery     = time.Minute
)

// janitor deletes completed jobs older than Config.Retention while the
// dispatcher runs; it returns when ctx ends.
func (r *dispatchRun) janitor(ctx context.Context) {
	defer close(r.janitorDone)
	if r.cfg.Retention < 0 {
		return
	}
	ticker := time.NewTicker(cleanupInterval(r.cfg))
	defer ticker.Stop()
	for {
		r.deleteExpired(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// cleanupInterval runs clean-up every minute, or more often for a short
// retention, but never more often than the poll.
func cleanupInterval(cfg Config) time.Duration {
	return max(cfg.PollInterval, min(cleanupEvery, cfg.Retention/10))
}

// deleteExpired deletes completed jobs past retention, batch by batch.
func (r *dispatchRun) deleteExpired(ctx context.Context) {
	before := time.Now().Add(-r.cfg.Retention)
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
