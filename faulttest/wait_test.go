package faulttest

import (
	"testing"
	"time"
)

// pollEvery is how often waitFor checks its condition.
const pollEvery = 10 * time.Millisecond

// waitFor checks cond until it holds, and fails t when it returns an error
// or has not held within the deadline. what names the awaited state.
func waitFor(t *testing.T, within time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("%s did not happen within %s", what, within)
		case <-tick.C:
		}
	}
}
