package service

import (
	"slices"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
)

// maxWakeTimes bounds the wake-up times a Waker keeps. Past it the latest
// are forgotten, which costs nothing: after every timed wake-up the claim
// loop reads the next run time from the job database anyway (its
// look-ahead).
const maxWakeTimes = 1024

// Waker tells the claim loop when jobs may be runnable: now (Wake), or at a
// later time (WakeAt). It keeps every time asked for, earliest first, so a
// wake-up asked for after an earlier one is not lost when the earlier one
// comes. Any goroutine may call Wake and WakeAt, while a claim loop runs or
// not; a Waker outlives the claim loops of the dispatcher's runs, and the
// running one is its only reader (Woken, Next and Passed).
type Waker struct {
	clock *clock.Clock
	// now is signalled, never blocking, when jobs may be runnable now or the
	// wake-up times changed.
	now chan struct{}

	mu sync.Mutex
	// at holds the future wake-up times, sorted, without repeats.
	at []time.Time
}

// NewWaker returns a Waker that tells the time by clk.
func NewWaker(clk *clock.Clock) *Waker {
	return &Waker{clock: clk, now: make(chan struct{}, 1)}
}

// Wake tells the claim loop to claim now.
func (w *Waker) Wake() {
	select {
	case w.now <- struct{}{}:
	default:
	}
}

// WakeAt tells the claim loop that a job becomes runnable at t: now, if t
// has passed.
func (w *Waker) WakeAt(t time.Time) {
	if t.After(w.clock.Now()) {
		w.add(t)
	}
	w.Wake()
}

// add keeps t among the wake-up times.
func (w *Waker) add(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, found := slices.BinarySearchFunc(w.at, t, time.Time.Compare)
	if found || i == maxWakeTimes {
		return
	}
	w.at = slices.Insert(w.at, i, t)
	if len(w.at) > maxWakeTimes {
		w.at = w.at[:maxWakeTimes]
	}
}

// Woken is signalled when the claim loop should claim, and look at the
// wake-up times again.
func (w *Waker) Woken() <-chan struct{} {
	return w.now
}

// Next returns the earliest wake-up time, or the zero time when there is
// none.
func (w *Waker) Next() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.at) == 0 {
		return time.Time{}
	}
	return w.at[0]
}

// Passed forgets the wake-up times up to t, once the claim loop woke for t.
func (w *Waker) Passed(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, found := slices.BinarySearchFunc(w.at, t, time.Time.Compare)
	if found {
		i++
	}
	w.at = slices.Delete(w.at, 0, i)
}
