package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
	"github.com/pocketbase-jobs/jobs/internal/outage"
)

// relayBatch is the most outbox jobs moved per round.
const relayBatch = 500

// RelayConfig is what a Relay is built from.
type RelayConfig struct {
	// Outbox is the outbox in the app's database.
	Outbox *sqlitedriver.Outbox
	// Driver is the job database's.
	Driver driver.Driver
	Logger *slog.Logger
	Clock  *clock.Clock
	// Check makes an enqueue's checks of a row read from the outbox, which
	// an older version may have written without them; a row it refuses is
	// moved aside.
	Check func(driver.InsertParams) error
	// Moved is called after a round relayed jobs.
	Moved func()
	// Every is how often the relay looks at the outbox unasked.
	Every time.Duration
}

// Relay moves jobs from the app database's outbox to the job database, on
// a goroutine of its own: right after every commit that wrote to the outbox
// (Kick), and every Every (which also picks up what a failed round or a
// crash left behind). A job that cannot be stored there is moved aside to
// the outbox's rejected table.
type Relay struct {
	cfg RelayConfig
	// outage logs an outage of the job database once each way.
	outage *outage.Log
	// kick is signalled, never blocking, when a commit wrote to the outbox.
	kick chan struct{}
	runner
}

var _ Service = (*Relay)(nil)

// NewRelay returns a relay; Start starts it.
func NewRelay(cfg RelayConfig) *Relay {
	return &Relay{
		cfg: cfg,
		outage: outage.New(cfg.Logger, slog.LevelError,
			"jobs: cannot relay transactional jobs to the job database; retrying",
			"jobs: relaying transactional jobs again"),
		kick:   make(chan struct{}, 1),
		runner: runner{name: "relaying transactional jobs"},
	}
}

// Start starts the relay's rounds, the first at once.
func (r *Relay) Start() { r.start(r.run) }

// Stop ends the relay after the round in progress, then moves what is
// left, until ctx ends.
func (r *Relay) Stop(ctx context.Context) error { return r.stop(ctx) }

// Kick asks for a round now, after a commit that wrote to the outbox,
// without waiting for it: the committing goroutine never waits on the job
// database. If the round fails, the next ones retry every Every: the job
// stays safe in the outbox meanwhile.
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run makes a round at once, then after every Kick and every Every, until
// quit ends; then a last round, under abort.
func (r *Relay) run(quit, abort context.Context) {
	ticker := time.NewTicker(r.cfg.Every)
	defer ticker.Stop()
	for {
		r.moveAll(quit)
		select {
		case <-quit.Done():
			r.moveAll(abort)
			return
		case <-ticker.C:
		case <-r.kick:
		}
	}
}

// moveAll relays until the outbox is empty or an error stops it.
func (r *Relay) moveAll(ctx context.Context) {
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
			r.cfg.Moved()
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
func (r *Relay) moveBatch(ctx context.Context) (taken, relayed int, err error) {
	ctx, cancel := call(ctx)
	defer cancel()
	batch, err := r.cfg.Outbox.Peek(ctx, relayBatch)
	if err != nil || len(batch) == 0 {
		return 0, 0, err
	}
	valid := make([]driver.InsertParams, 0, len(batch))
	for _, job := range batch {
		if err := r.cfg.Check(job); err != nil {
			if err := r.reject(ctx, job, err); err != nil {
				return 0, 0, err
			}
			continue
		}
		valid = append(valid, job)
	}
	_, err = r.cfg.Driver.Insert(ctx, valid)
	if errors.Is(err, driver.ErrRejected) {
		valid, err = r.insertEach(ctx, valid)
	}
	if err != nil {
		return 0, 0, err
	}
	if err := r.cfg.Outbox.Remove(ctx, valid); err != nil {
		return 0, 0, err
	}
	return len(batch), len(valid), nil
}

// insertEach inserts jobs one at a time, after the job database refused
// them as a batch, moving aside each job it refuses alone. It returns the
// jobs it stored.
func (r *Relay) insertEach(ctx context.Context, jobs []driver.InsertParams) ([]driver.InsertParams, error) {
	stored := make([]driver.InsertParams, 0, len(jobs))
	for _, job := range jobs {
		_, err := r.cfg.Driver.Insert(ctx, []driver.InsertParams{job})
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
func (r *Relay) reject(ctx context.Context, job driver.InsertParams, reason error) error {
	moved, err := r.cfg.Outbox.Reject(ctx, job.ID, reason.Error(), r.cfg.Clock.Now())
	if err != nil {
		return err
	}
	if moved {
		r.cfg.Logger.Error("jobs: a transactional job cannot be stored in the job database; moved it to _jobs_outbox_rejected",
			"job", job.ID, "topic", job.Topic, "error", reason)
	}
	return nil
}
