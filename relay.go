package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/outbox"
	"github.com/pocketbase/dbx"
)

// relayBatch is the most outbox jobs moved per round.
const relayBatch = 500

// relay moves jobs from the app database's outbox to the job database: right
// after every commit that wrote to the outbox, and every poll interval (which
// also picks up what a failed round or a crash left behind).
type relay struct {
	appDB   dbx.Builder
	drv     driver.Driver
	onMoved func()
	logger  *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}

	// mu serialises rounds, so a commit's own round and the loop's never
	// move the same rows at once; outage is guarded by it.
	mu     sync.Mutex
	outage bool
}

// startRelay starts a relay; stop it with stop.
func startRelay(appDB dbx.Builder, drv driver.Driver, every time.Duration, onMoved func(), logger *slog.Logger) *relay {
	ctx, cancel := context.WithCancel(context.Background())
	r := &relay{
		appDB:   appDB,
		drv:     drv,
		onMoved: onMoved,
		logger:  logger,
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	go r.loop(ctx, every)
	return r
}

// afterCommit relays at once, on the committing goroutine, so a job enqueued
// in a transaction is in the job database when RunInTransaction returns. If
// that fails the loop retries every poll interval: the job stays safe in the
// outbox.
func (r *relay) afterCommit() {
	r.moveAll(context.Background())
}

// stop ends the relay after the round in progress, then moves what is left.
func (r *relay) stop() {
	r.cancel()
	<-r.done
	r.moveAll(context.Background())
}

func (r *relay) loop(ctx context.Context, every time.Duration) {
	defer close(r.done)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		r.moveAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// moveAll relays until the outbox is empty or an error stops it.
func (r *relay) moveAll(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		moved, err := r.moveBatch(ctx)
		if err != nil {
			if ctx.Err() == nil && !r.outage {
				r.outage = true
				r.logger.Error("jobs: cannot relay transactional jobs to the job database; retrying", "error", err)
			}
			return
		}
		if r.outage {
			r.outage = false
			r.logger.Info("jobs: relaying transactional jobs again")
		}
		if moved > 0 {
			r.onMoved()
		}
		if moved < relayBatch {
			return
		}
	}
}

// moveBatch copies one batch to the job database, then removes it from the
// outbox. An insert of an id already there is a no-op, so a crash between
// the two steps only repeats a harmless insert.
func (r *relay) moveBatch(ctx context.Context) (int, error) {
	batch, err := outbox.Peek(ctx, r.appDB, relayBatch)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	if _, err := r.drv.Insert(ctx, batch); err != nil {
		return 0, err
	}
	if err := outbox.Remove(ctx, r.appDB, batch); err != nil {
		return 0, err
	}
	return len(batch), nil
}
