package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// maxFinishBatch bounds the outcomes written in one statement batch.
const maxFinishBatch = 256

// completer writes attempt outcomes in batches: whatever accumulated while
// the previous batch was written goes out together, so an idle queue writes
// each outcome at once and a busy one groups them.
type completer struct {
	drv    driver.Driver
	logger *slog.Logger
	// onRetry is told the run time of every job that goes back to pending.
	onRetry func(time.Time)

	mu      sync.Mutex
	queue   []driver.Outcome
	closed  bool
	signal  chan struct{}
	stopped chan struct{}
}

func newCompleter(drv driver.Driver, logger *slog.Logger, onRetry func(time.Time)) *completer {
	c := &completer{
		drv:     drv,
		logger:  logger,
		onRetry: onRetry,
		signal:  make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
	go c.loop()
	return c
}

// add queues an outcome; it reports false once the completer is closed.
func (c *completer) add(o driver.Outcome) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, o)
	c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
	return true
}

// close writes what is queued and stops the completer.
func (c *completer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
	<-c.stopped
}

func (c *completer) loop() {
	defer close(c.stopped)
	for range c.signal {
		for {
			c.mu.Lock()
			batch := c.queue
			if len(batch) > maxFinishBatch {
				batch = batch[:maxFinishBatch]
			}
			c.queue = c.queue[len(batch):]
			closed := c.closed
			c.mu.Unlock()
			if len(batch) == 0 {
				if closed {
					return
				}
				break
			}
			c.write(batch)
		}
	}
}

// Retrying outcomes: the wait between attempts doubles from
// minOutcomeRetryWait to maxOutcomeRetryWait, for at most outcomeRetryFor.
const (
	minOutcomeRetryWait = 50 * time.Millisecond
	maxOutcomeRetryWait = time.Second
	outcomeRetryFor     = 30 * time.Second
)

// write stores a batch, retrying through a short outage of the job database
// (a restart takes seconds), and says so once. A batch that still fails after
// outcomeRetryFor is dropped: its jobs stay processing until their locks
// expire, and are then recovered and run again.
func (c *completer) write(batch []driver.Outcome) {
	wait := minOutcomeRetryWait
	giveUp := time.Now().Add(outcomeRetryFor)
	failing := false
	for {
		_, err := c.drv.Finish(context.Background(), batch, time.Now())
		if err == nil {
			break
		}
		if time.Now().After(giveUp) {
			c.logger.Error("jobs: cannot record job outcomes; the jobs will be recovered when their locks expire",
				"jobs", len(batch), "error", err)
			return
		}
		if !failing {
			// Info, not a warning: the outage itself is reported by the
			// dispatcher, and nothing is lost while the completer retries.
			failing = true
			c.logger.Info("jobs: cannot record job outcomes yet; retrying", "jobs", len(batch), "error", err)
		}
		time.Sleep(wait)
		wait = min(2*wait, maxOutcomeRetryWait)
	}
	if failing {
		c.logger.Info("jobs: job outcomes recorded again")
	}
	for _, o := range batch {
		if o.Status == StatusPending {
			c.onRetry(o.RunAt)
		}
	}
}
