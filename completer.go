package jobs

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
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
	clock  *clock.Clock
	// onRetry is told the run time of every job that goes back to pending.
	onRetry func(time.Time)

	mu      sync.Mutex
	queue   []driver.Outcome
	closed  bool
	signal  chan struct{}
	stopped chan struct{}
}

func newCompleter(drv driver.Driver, logger *slog.Logger, clk *clock.Clock, onRetry func(time.Time)) *completer {
	c := &completer{
		drv:     drv,
		logger:  logger,
		clock:   clk,
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

// write stores a batch, retrying briefly on errors. A batch that still fails
// is dropped: its jobs stay processing until their locks expire, and are then
// recovered and run again.
func (c *completer) write(batch []driver.Outcome) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err := c.drv.Finish(context.Background(), batch, c.clock.Now())
		if err == nil {
			break
		}
		if attempt == 5 {
			c.logger.Error("jobs: cannot record job outcomes; the jobs will be recovered when their locks expire",
				"jobs", len(batch), "error", err)
			return
		}
		time.Sleep(backoff)
		backoff *= 2
	}
	for _, o := range batch {
		if o.Status == StatusPending {
			c.onRetry(o.RunAt)
		}
	}
}
