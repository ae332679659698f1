// Package service holds the background services of the job runtime that
// need nothing of the root package but the driver's types: the claim loop,
// the completer, the janitor, the notification listener and the outbox
// relay. (The workers, which call handlers with the public *jobs.Job, live
// in the root package, with the same shape.)
//
// Each service is built from explicit dependencies — a driver, a logger,
// the plugin's clock, configuration values, functions standing for the
// topic registry or for a wake-up — and none holds the plugin. Each has the
// shape of Service: Start launches its goroutine; Stop asks it to finish,
// waits for it until a context ends, and is safe before Start and more than
// once.
package service

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// callLimit bounds every database call a service makes while it runs, so
// that a server that stopped answering (rather than refusing) holds a
// service up for that long at most; a stop cuts calls shorter.
const callLimit = 30 * time.Second

// call returns a context for one database call under ctx: it ends with ctx,
// or callLimit from now.
func call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callLimit)
}

// Within runs fn on a goroutine of its own and waits for it until ctx
// ends; it reports ctx's error if it stopped waiting. fn then finishes on
// its own: it must end once the calls it waits for do, as calls whose
// contexts have ended do. A SQLite call waiting for another connection's
// lock ends only when SQLite's busy timeout does, whatever its context says.
func Within(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Service is the shape every background service of the runtime shares.
type Service interface {
	// Start launches the service. Calls after the first, and calls after
	// Stop, do nothing.
	Start()
	// Stop asks the service to finish what it holds and waits for it until
	// ctx ends; then it cancels the database calls the service still makes
	// and returns without waiting further. It is safe before Start (the
	// service never starts then) and more than once.
	Stop(ctx context.Context) error
}

// runner gives a service that runs on one goroutine the shape of Service.
type runner struct {
	// name says what the service does, in errors.
	name string

	mu               sync.Mutex
	started, stopped bool
	// quit ends the quit context of body; abort its abort context.
	quit, abort context.CancelFunc
	// done is closed when body has returned.
	done chan struct{}
}

// start runs body on a goroutine of its own, once, unless stop came first.
// body's quit context ends when Stop is called: body should then take no
// new work, finish what it holds and return. Its abort context ends when
// Stop stops waiting: every database call body makes takes a context
// derived from one of the two (see call), so that none outlives the stop,
// but for a SQLite call waiting for a lock (see Within).
func (r *runner) start(body func(quit, abort context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return
	}
	r.started = true
	quit, cancelQuit := context.WithCancel(context.Background())
	abort, cancelAbort := context.WithCancel(context.Background())
	r.quit, r.abort, r.done = cancelQuit, cancelAbort, make(chan struct{})
	go func() {
		defer close(r.done)
		body(quit, abort)
	}()
}

// stop ends body's quit context and waits for body to return until ctx
// ends; then it ends body's abort context and reports that body did not
// return in time.
func (r *runner) stop(ctx context.Context) error {
	r.mu.Lock()
	started := r.started
	r.stopped = true
	r.mu.Unlock()
	if !started {
		return nil
	}
	r.quit()
	select {
	case <-r.done:
		r.abort()
		return nil
	case <-ctx.Done():
		r.abort()
		return fmt.Errorf("%s did not end by the shutdown deadline: %w", r.name, ctx.Err())
	}
}
