// Package testpoll waits in tests for a condition to hold, polling it with
// a deadline instead of sleeping for a guessed time. Only tests import it.
package testpoll

import (
	"testing"
	"time"
)

// every is how often Until checks its condition.
const every = 2 * time.Millisecond

// Until checks cond until it holds, and fails t when it has not held
// within the deadline; what names the awaited state in the failure.
func Until(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		<-tick.C
	}
}
