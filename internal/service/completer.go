package service

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/outage"
)

// Writing outcomes: batches of at most maxFinishBatch, each outcome after
// it waited outcomeWait for a claim to carry it. A batch that fails
// is tried again through a short outage of the job database (a restart
// takes seconds), the wait between attempts doubling from
// minOutcomeRetryWait to maxOutcomeRetryWait, for at most outcomeRetryFor.
const (
	maxFinishBatch      = 256
	outcomeWait         = maxPace
	minOutcomeRetryWait = 50 * time.Millisecond
	maxOutcomeRetryWait = time.Second
	outcomeRetryFor     = 30 * time.Second
)

// Completer writes the outcomes of attempts. A busy queue's next claim
// carries them, in its own transaction (Take and Settle): one write for
// the ends of the last jobs and the next jobs. Outcomes no claim took
// within outcomeWait the completer writes itself, in batches: whatever
// accumulated meanwhile goes out together.
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

// Take takes up to max queued outcomes for a claim to write; the claim
// then hands them to Settle.
func (c *Completer) Take(max int) []driver.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		return nil
	}
	n := min(len(c.queue), max)
	taken := slices.Clone(c.queue[:n])
	c.queue = c.queue[n:]
	return taken
}

// Settle follows the write of outcomes a claim took: written (err nil),
// the jobs they made pending again are woken for; not written, they go
// back to the front of the queue, for the completer to write with its
// retries.
func (c *Completer) Settle(taken []driver.Outcome, err error) {
	if len(taken) == 0 {
		return
	}
	if err == nil {
		c.written(taken)
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.queue = append(taken, c.queue...)
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

// run writes, each time the queue grows, what no claim took within
// outcomeWait, and what is queued when told to quit. After a write that
// found the database busy it waits in its turn (see paceAfter), and
// outcomes gather meanwhile.
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
		clock.Sleep(quit, outcomeWait)
		began := time.Now()
		_ = c.writeQueued(abort) // logged; the jobs are recovered when their locks expire
		if c.drv.OneWriter() {
			clock.Sleep(quit, paceAfter(time.Since(began)))
		}
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
	c.written(batch)
	return nil
}

// written wakes the claim loop for the jobs batch made pending again.
func (c *Completer) written(batch []driver.Outcome) {
	for _, o := range batch {
		if o.Status == driver.StatusPending {
			c.wakeAt(o.RunAt)
		}
	}
}

// finish makes one attempt at writing a batch.
func (c *Completer) finish(ctx context.Context, batch []driver.Outcome) error {
	ctx, cancel := call(ctx)
	defer cancel()
	_, err := c.drv.Finish(ctx, driver.FinishParams{Outcomes: batch, Now: c.clock.Now()})
	return err
}
