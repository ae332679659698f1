package clock

import (
	"context"
	"testing"
	"time"
)

func TestZeroClockIsTheSystemClock(t *testing.T) {
	var c Clock
	before := time.Now()
	now := c.Now()
	if now.Before(before) || now.After(time.Now()) {
		t.Fatalf("the zero Clock says %v, outside the system clock's [%v, now]", now, before)
	}
}

func TestShiftMovesNowAndUntil(t *testing.T) {
	for _, offset := range []time.Duration{5 * time.Minute, -5 * time.Minute, 0} {
		var c Clock
		c.Shift(offset)
		before := time.Now().Add(offset)
		now := c.Now()
		if now.Before(before) || now.After(time.Now().Add(offset)) {
			t.Errorf("shifted by %v, the clock says %v, want about %v", offset, now, before)
		}
		// A time the system clock says is an hour away is an hour less
		// the offset away by c.
		in := c.Until(time.Now().Add(time.Hour))
		if want := time.Hour - offset; in > want || in < want-time.Second {
			t.Errorf("shifted by %v, an hour from now is %v away, want about %v", offset, in, want)
		}
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("a sleep that ran its course reports it did not")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) || Sleep(ctx, 0) {
		t.Fatal("a sleep under an ended context reports it ran its course")
	}
}

// TestCorrectionCancelsSkewButNotShift: a machine clock off by a skew,
// corrected to a reference reading, tells the reference's time again; a
// shift stays on top of the correction.
func TestCorrectionCancelsSkewButNotShift(t *testing.T) {
	var c Clock
	c.Skew(-5 * time.Minute)
	if off := time.Since(c.Now()); off < 5*time.Minute-time.Second || off > 5*time.Minute+time.Second {
		t.Fatalf("a clock skewed 5 minutes behind is %v behind", off)
	}
	c.Correct(time.Now(), c.Machine()) // the reference is the system clock
	if off := time.Since(c.Now()).Abs(); off > time.Second {
		t.Fatalf("a corrected clock is %v off the reference", off)
	}
	if got := c.Correction(); got < 5*time.Minute-time.Second || got > 5*time.Minute+time.Second {
		t.Fatalf("Correction() = %v, want about 5m", got)
	}
	c.Shift(time.Hour)
	if ahead := time.Until(c.Now()); ahead < time.Hour-time.Second || ahead > time.Hour+time.Second {
		t.Fatalf("a corrected clock shifted an hour is %v ahead of the reference", ahead)
	}
}
