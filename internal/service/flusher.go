package service

import (
	"context"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
)

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	// Ready is signalled when there is something to flush.
	Ready <-chan struct{}
	// Interval is how long the flusher lets more come after a signal
	// before it flushes: changes within it leave in one flush.
	Interval time.Duration
	// Flush takes what there is and passes it on. Its context ends after
	// callLimit, or when the flusher's Stop stops waiting.
	Flush func(ctx context.Context)
}

// Flusher calls Flush at most once per Interval, and only after Ready was
// signalled: it turns a stream of signals into a bounded rate of flushes.
type Flusher struct {
	cfg FlusherConfig
	runner
}

var _ Service = (*Flusher)(nil)

// NewFlusher returns a flusher configured by cfg; Start starts it.
func NewFlusher(cfg FlusherConfig) *Flusher {
	return &Flusher{cfg: cfg, runner: runner{name: "flushing realtime changes"}}
}

// Start starts flushing.
func (f *Flusher) Start() { f.start(f.run) }

// Stop flushes what is left, once, and stops flushing.
func (f *Flusher) Stop(ctx context.Context) error { return f.stop(ctx) }

// run waits for a signal, lets Interval pass, flushes, and again, until
// quit ends; then it flushes a last time, so that what a short-lived
// process changed (a command of the command line) is passed on.
func (f *Flusher) run(quit, abort context.Context) {
	defer f.flush(abort)
	for {
		select {
		case <-quit.Done():
			return
		case <-f.cfg.Ready:
		}
		if !clock.Sleep(quit, f.cfg.Interval) {
			return
		}
		f.flush(abort)
	}
}

// flush calls Flush with a context for one round of database calls.
func (f *Flusher) flush(abort context.Context) {
	ctx, cancel := call(abort)
	defer cancel()
	f.cfg.Flush(ctx)
}
