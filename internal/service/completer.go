package service

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/outage"
)

// Writing outcomes: batches of at most maxFinishBatch. A batch that fails
// is tried again through a short outage of the job database (a restart
// takes seconds), the wait between attempts doubling from
// minOutcomeRetryWait to maxOutcomeRetryWait, for at most outcomeRetryFor.
const (
	maxFinishBatch      = 256
	minOutcomeRetryWait = 50 * time.Millisecond
	maxOutcomeRetryWait = time.Second
	outcomeRetryFor     = 30 * time.Second
)

// Completer writes the outcomes of attempts in batches: whatever
// accumulated while the previous batch was written goes out together, so an
// idle queue writes each outcome at once and a busy one groups them.
type Completer struct {
	drv    driver.Driver
	logger *slog.Logger
	clock  *clock.Clock
	// wakeAt is told the run time of every job that goes back to pending.
	wakeAt func(time.Time)
	// retrying logs, at info level, that outcomes wait for the job
	// database, once per outage: the outage itself is the claim loop's to
	// report, and nothing is lost while the completer retries.
	retrying *outage.Log

	mu     sync.Mutex
	queue  []driver.Outcome
	closed bool
	// signal is signalled, never blocking, when the queue grew.
	signal chan struct{}
	// lost is the error of the outcomes the last writes on Stop could
	// not record; read once the goroutine has returned.
	lost error
	runner
}

var _ Service = (*Completer)(nil)

// NewCompleter returns a completer that writes through drv; Start starts
// it.
func NewCompleter(drv driver.Driver, logger *slog.Logger, clk *clock.Clock, wakeAt func(time.Time)) *Completer {
	return &Completer{
		drv:    drv,
		logger: logger,
		clock:  clk,
		wakeAt: wakeAt,
		retrying: outage.New(logger, slog.LevelInfo,
			"jobs: cannot record job outcomes yet; retrying",
			"jobs: job outcomes recorded again"),
		signal: make(chan struct{}, 1),
		runner: runner{name: "recording job outcomes"},
	}
}

// Add queues an outcome. Once Stop began, outcomes are dropped: their jobs
// stay processing until their locks expire, and are then recovered and run
// again.
func (c *Completer) Add(o driver.Outcome) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.queue = append(c.queue, o)
	c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// Start starts writing outcomes.
func (c *Completer) Start() { c.start(c.run) }

// Stop writes what is queued, until ctx ends, and stops. It reports the
// outcomes it could not write.
func (c *Completer) Stop(ctx context.Context) error {
	if err := c.stop(ctx); err != nil {
		return err
	}
	return c.lost
}

// run writes what is queued each time the queue grows, and once more when
// told to quit.
func (c *Completer) run(quit, abort context.Context) {
	for {
		select {
		case <-c.signal:
		case <-quit.Done():
			c.mu.Lock()
			c.closed = true
			c.mu.Unlock()
			c.lost = c.writeQueued(abort)
			return
		}
		_ = c.writeQueued(abort) // logged; the jobs are recovered when their locks expire
	}
}

// writeQueued writes the queue, batch by batch, until it is empty, and
// reports the outcomes it had to drop.
func (c *Completer) writeQueued(ctx context.Context) error {
	var dropped int
	var lastErr error
	for {
		c.mu.Lock()
		batch := c.queue[:min(len(c.queue), maxFinishBatch)]
		c.queue = c.queue[len(batch):]
		c.mu.Unlock()
		if len(batch) == 0 {
			break
		}
		if err := c.write(ctx, batch); err != nil {
			dropped += len(batch)
			lastErr = err
		}
	}
	if lastErr != nil {
		return fmt.Errorf("record %d job outcomes: %w", dropped, lastErr)
	}
	return nil
}

// write stores a batch, trying again through a short outage of the job
// database, and wakes the claim loop for the jobs it made pending again. A
// batch that still fails after outcomeRetryFor, or when ctx ends, is
// dropped and logged: its jobs stay processing until their locks expire,
// and are then recovered and run again.
func (c *Completer) write(ctx context.Context, batch []driver.Outcome) error {
	wait := minOutcomeRetryWait
	start := time.Now()
	for {
		err := c.finish(ctx, batch)
		if err == nil {
			c.retrying.Recovered()
			break
		}
		if time.Since(start) < outcomeRetryFor {
			c.retrying.Failed(err, "jobs", len(batch))
			if clock.Sleep(ctx, wait) {
				wait = min(2*wait, maxOutcomeRetryWait)
				continue
			}
		}
		c.logger.Error("jobs: cannot record job outcomes; the jobs will be recovered when their locks expire",
			"jobs", len(batch), "error", err)
		return err
	}
	for _, o := range batch {
		if o.Status == driver.StatusPending {
			c.wakeAt(o.RunAt)
		}
	}
	return nil
}

// finish makes one attempt at writing a batch.
func (c *Completer) finish(ctx context.Context, batch []driver.Outcome) error {
	ctx, cancel := call(ctx)
	defer cancel()
	_, err := c.drv.Finish(ctx, driver.FinishParams{Outcomes: batch, Now: c.clock.Now()})
	return err
}
