package service

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// TestClaimsCarryOutcomes: a claim takes the queued outcomes, oldest
// first, up to its maximum; outcomes a claim wrote wake the jobs they made
// pending again, and outcomes a claim failed to write go back to the front
// of the queue, for the next claim or the completer.
func TestClaimsCarryOutcomes(t *testing.T) {
	var woken []time.Time
	c := NewCompleter(nil, slog.New(slog.DiscardHandler), new(clock.Clock), func(at time.Time) { woken = append(woken, at) })
	retryAt := time.Unix(1000, 0)
	c.Add(driver.Outcome{ID: "a", Status: driver.StatusCompleted})
	c.Add(driver.Outcome{ID: "b", Status: driver.StatusPending, RunAt: retryAt})
	c.Add(driver.Outcome{ID: "c", Status: driver.StatusFailed})

	taken := c.Take(2)
	if got := outcomeIDs(taken); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Take(2) = %v, want a, b", got)
	}
	c.Settle(taken, errors.New("database unavailable"))
	if got := outcomeIDs(c.Take(10)); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("after a failed claim, Take = %v, want a, b, c (the failed ones first)", got)
	}
	if len(woken) != 0 {
		t.Fatalf("a failed claim woke %v", woken)
	}
	c.Settle(taken, nil)
	if !slices.Equal(woken, []time.Time{retryAt}) {
		t.Fatalf("a written retry woke %v, want its run time %v", woken, retryAt)
	}
	if got := c.Take(10); len(got) != 0 {
		t.Fatalf("Take of an empty queue = %v", outcomeIDs(got))
	}
}

// outcomeIDs are the ids of the outcomes' jobs, in order.
func outcomeIDs(outcomes []driver.Outcome) []string {
	ids := make([]string, len(outcomes))
	for i, o := range outcomes {
		ids[i] = o.ID
	}
	return ids
}
