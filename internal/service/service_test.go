package service

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRunnerStopIsSafeBeforeStartAndTwice: a stop before the start keeps
// the body from ever running; a second stop returns at once.
func TestRunnerStopIsSafeBeforeStartAndTwice(t *testing.T) {
	r := runner{name: "test"}
	if err := r.stop(context.Background()); err != nil {
		t.Fatalf("stop before start: %v", err)
	}
	r.start(func(quit, abort context.Context) { t.Error("a service stopped before its start ran") })
	if err := r.stop(context.Background()); err != nil {
		t.Fatalf("second stop: %v", err)
	}

	var ran runner
	calls := 0
	ran.start(func(quit, abort context.Context) { calls++; <-quit.Done() })
	ran.start(func(quit, abort context.Context) { calls++; <-quit.Done() })
	for range 2 {
		if err := ran.stop(context.Background()); err != nil {
			t.Fatalf("stop: %v", err)
		}
	}
	if calls != 1 {
		t.Fatalf("two starts ran the body %d times, want once", calls)
	}
}

// TestRunnerStopWaitsUntilItsContextEnds: a body that finishes after quit
// is waited for; one that does not is abandoned when the stop's context
// ends, and its abort context ends then.
func TestRunnerStopWaitsUntilItsContextEnds(t *testing.T) {
	var finishing runner
	finished := false
	finishing.start(func(quit, abort context.Context) {
		<-quit.Done()
		finished = true
	})
	if err := finishing.stop(context.Background()); err != nil || !finished {
		t.Fatalf("stop returned %v before the body finished (%v)", err, finished)
	}

	stuck := runner{name: "stuck"}
	aborted := make(chan struct{})
	stuck.start(func(quit, abort context.Context) {
		<-abort.Done()
		close(aborted)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := stuck.stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stopping a body that ignores quit: %v, want the deadline", err)
	}
	<-aborted
}
