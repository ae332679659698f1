package jobs

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// HandlerOptions tunes how this process runs one topic's jobs (see
// JobStore.RegisterWithOptions). A zero field takes its default, so the
// zero value (or nil) registers like Register.
type HandlerOptions struct {
	// Timeout is how long an attempt may run: job.Context() ends then (its
	// cause is ErrJobTimedOut), and the attempt counts as failed whatever
	// the handler returns, and is retried like any failure. 0 means no
	// timeout; the context still ends when the job's lock expires, so keep
	// LockDuration above Timeout.
	Timeout time.Duration
	// Concurrency is the most jobs of this topic running at once in this
	// process; 0 means Config.Workers. Claims take no more jobs of the
	// topic than it leaves room for, so no claimed job waits for a slot.
	Concurrency int
	// LockDuration is how long a claim holds this topic's jobs; 0 means
	// Config.LockDuration. A job still running when its lock expires is
	// given to another worker: give long jobs a longer lock.
	LockDuration time.Duration
	// Backoff is the delay before retry n (1, 2, …) of this topic's jobs;
	// nil means Config.RetryBackoff.
	Backoff func(retry int) time.Duration
}

// check refuses negative options.
func (o HandlerOptions) check() error {
	switch {
	case o.Timeout < 0:
		return fmt.Errorf("%w: Timeout %s is negative", ErrInvalidOptions, o.Timeout)
	case o.Concurrency < 0:
		return fmt.Errorf("%w: Concurrency %d is negative", ErrInvalidOptions, o.Concurrency)
	case o.LockDuration < 0:
		return fmt.Errorf("%w: LockDuration %s is negative", ErrInvalidOptions, o.LockDuration)
	}
	return nil
}

// registration is one topic's handler and its options.
type registration struct {
	handler func(*Job) error
	opts    HandlerOptions
}

// lock is how long a claim holds the topic's jobs: its LockDuration, or
// otherwise fallback (Config.LockDuration).
func (r *registration) lock(fallback time.Duration) time.Duration {
	if r.opts.LockDuration > 0 {
		return r.opts.LockDuration
	}
	return fallback
}

// handlerRegistry maps topics to their handlers. It is safe for concurrent
// use: handlers may be registered while the dispatcher runs.
type handlerRegistry struct {
	mu     sync.RWMutex
	topics map[string]*registration
	sorted []string // sorted keys of topics, shared read-only
}

// add binds handler, with opts, to topic; a topic has one handler at most.
func (r *handlerRegistry) add(topic string, handler func(*Job) error, opts HandlerOptions) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.topics[topic]; ok {
		return fmt.Errorf("register %q: %w", topic, ErrTopicAlreadyRegistered)
	}
	if r.topics == nil {
		r.topics = make(map[string]*registration)
	}
	r.topics[topic] = &registration{handler: handler, opts: opts}
	sorted := append(slices.Clone(r.sorted), topic)
	slices.Sort(sorted)
	r.sorted = sorted
	return nil
}

// get returns the registration of topic, or nil.
func (r *handlerRegistry) get(topic string) *registration {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.topics[topic]
}

// handles tells whether topic has a handler.
func (r *handlerRegistry) handles(topic string) bool {
	return r.get(topic) != nil
}

// list returns the registered topics, sorted; the caller must not modify
// the slice.
func (r *handlerRegistry) list() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sorted
}
