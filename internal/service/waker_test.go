package service

import (
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
)

// signalled tells whether w asks the claim loop to claim, and takes the
// signal.
func signalled(w *Waker) bool {
	select {
	case <-w.Woken():
		return true
	default:
		return false
	}
}

// TestWakerKeepsEveryWakeUpTime: wake-up times come out earliest first,
// each once, however they were asked for; a later one is kept when an
// earlier one comes in after it, and after the earlier one has passed.
func TestWakerKeepsEveryWakeUpTime(t *testing.T) {
	w := NewWaker(new(clock.Clock))
	base := time.Now().Add(time.Hour)
	at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	for _, m := range []int{2, 1, 3, 2} {
		w.WakeAt(at(m))
		if !signalled(w) {
			t.Fatalf("WakeAt(+%dm) did not tell the loop to look at its times again", m)
		}
	}
	for _, m := range []int{1, 2, 3} {
		if next := w.Next(); !next.Equal(at(m)) {
			t.Fatalf("next wake-up %v, want %v", next, at(m))
		}
		w.Passed(at(m))
	}
	if next := w.Next(); !next.IsZero() {
		t.Fatalf("next wake-up %v once every time passed, want none", next)
	}
}

// TestWakerWakesAtOnceForAPastTime: a time that has passed by the Waker's
// clock asks for a claim now and is not kept; the clock decides, not the
// system's.
func TestWakerWakesAtOnceForAPastTime(t *testing.T) {
	var clk clock.Clock
	clk.Shift(time.Hour)
	w := NewWaker(&clk)
	w.WakeAt(time.Now().Add(time.Minute)) // past by the shifted clock
	if !signalled(w) {
		t.Fatal("a wake-up time that has passed did not ask for a claim")
	}
	if next := w.Next(); !next.IsZero() {
		t.Fatalf("a wake-up time that has passed is kept: %v", next)
	}
	w.Wake()
	w.Wake()
	if !signalled(w) || signalled(w) {
		t.Fatal("two wake-ups before the loop looked must ask for one claim")
	}
}

// TestWakerForgetsTheLatestPastItsBound: past maxWakeTimes, the latest
// times are forgotten and the earliest kept.
func TestWakerForgetsTheLatestPastItsBound(t *testing.T) {
	w := NewWaker(new(clock.Clock))
	base := time.Now().Add(time.Hour)
	for i := maxWakeTimes; i >= 0; i-- {
		w.WakeAt(base.Add(time.Duration(i) * time.Second))
	}
	w.WakeAt(base.Add(time.Hour))
	if n := len(w.at); n != maxWakeTimes {
		t.Fatalf("the waker keeps %d times, want %d", n, maxWakeTimes)
	}
	if first, last := w.at[0], w.at[len(w.at)-1]; !first.Equal(base) || !last.Equal(base.Add((maxWakeTimes-1)*time.Second)) {
		t.Fatalf("the waker keeps %v .. %v, want the earliest %d", first, last, maxWakeTimes)
	}
}
