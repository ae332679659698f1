package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/outage"
	"github.com/pocketbase-jobs/jobs/internal/outbox"
	"github.com/pocketbase/dbx"
)

// relayBatch is the most outbox jobs moved per round.
const relayBatch = 500

// relay moves jobs from the app database's outbox to the job database: right
// after every commit that wrote to the outbox, and every poll interval (which
// also picks up what a failed round or a crash left behind). A job that
// cannot be stored there is moved aside to the outbox's rejected table.
type relay struct {
	appDB   dbx.Builder
	drv     driver.Driver
	onMoved func()
	logger  *slog.Logger
	clock   *clock.Clock

	cancel context.CancelFunc
	done   chan struct{}

	// outage logs an outage of the job database once each way.
	outage *outage.Log

	// mu serialises rounds, so a commit's own round and the loop's never
	// move the same rows at once.
	mu sync.Mutex
}

// startRelay starts a relay; stop it with stop.
func startRelay(appDB dbx.Builder, drv driver.Driver, every time.Duration, onMoved func(), logger *slog.Logger, clk *clock.Clock) *relay {
	ctx, cancel := context.WithCancel(context.Background())
	r := &relay{
		appDB:   appDB,
		drv:     drv,
		onMoved: onMoved,
		logger:  logger,
		clock:   clk,
		outage: outage.New(logger, slog.LevelError,
			"jobs: cannot relay transactional jobs to the job database; retrying",
			"jobs: relaying transactional jobs again"),
		cancel: cancel,
		done:   make(chan struct{}),
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
		taken, relayed, err := r.moveBatch(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.outage.Failed(err)
			}
			return
		}
		r.outage.Recovered()
		if relayed > 0 {
			r.onMoved()
		}
		if taken < relayBatch {
			return
		}
	}
}

// moveBatch copies one batch to the job database, then removes it from the
// outbox, and returns how many jobs it took from the outbox and how many of
// them it relayed. An insert of an id already there is a no-op, so a crash
// between the two steps only repeats a harmless insert.
//
// A job that fails an enqueue's checks, or that the job database refuses,
// is moved aside (see reject) instead of holding back the jobs behind it. An
// error that is not a refusal (the job database is unreachable) ends the
// round with every job left in the outbox, to be relayed by the next one.
func (r *relay) moveBatch(ctx context.Context) (taken, relayed int, err error) {
	batch, err := outbox.Peek(ctx, r.appDB, relayBatch)
	if err != nil || len(batch) == 0 {
		return 0, 0, err
	}
	valid := make([]driver.InsertParams, 0, len(batch))
	for _, job := range batch {
		if err := checkRow(job); err != nil {
			if err := r.reject(ctx, job, err); err != nil {
				return 0, 0, err
			}
			continue
		}
		valid = append(valid, job)
	}
	_, err = r.drv.Insert(ctx, valid)
	if errors.Is(err, driver.ErrRejected) {
		valid, err = r.insertEach(ctx, valid)
	}
	if err != nil {
		return 0, 0, err
	}
	if err := outbox.Remove(ctx, r.appDB, valid); err != nil {
		return 0, 0, err
	}
	return len(batch), len(valid), nil
}

// insertEach inserts jobs one at a time, after the job database refused
// them as a batch, moving aside each job it refuses alone. It returns the
// jobs it stored.
func (r *relay) insertEach(ctx context.Context, jobs []driver.InsertParams) ([]driver.InsertParams, error) {
	stored := make([]driver.InsertParams, 0, len(jobs))
	for _, job := range jobs {
		_, err := r.drv.Insert(ctx, []driver.InsertParams{job})
		switch {
		case errors.Is(err, driver.ErrRejected):
			if err := r.reject(ctx, job, err); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		default:
			stored = append(stored, job)
		}
	}
	return stored, nil
}

// reject moves job from the outbox to _jobs_outbox_rejected with the reason
// it cannot be relayed, and logs it: once, by the relay that moved it.
func (r *relay) reject(ctx context.Context, job driver.InsertParams, reason error) error {
	moved, err := outbox.Reject(ctx, r.appDB, job.ID, reason.Error(), r.clock.Now())
	if err != nil {
		return err
	}
	if moved {
		r.logger.Error("jobs: a transactional job cannot be stored in the job database; moved it to _jobs_outbox_rejected",
			"job", job.ID, "topic", job.Topic, "error", reason)
	}
	return nil
}
