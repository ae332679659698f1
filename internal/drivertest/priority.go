package drivertest

import (
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// prioritized is topicJob(id, topic, runAt) at the given priority.
func prioritized(id, topic string, priority int, runAt time.Time) driver.InsertParams {
	p := topicJob(id, topic, runAt)
	p.Priority = priority
	return p
}

// claimOfTopics is a claim at now of up to limit jobs, of each topic up to
// its limit in limits.
func claimOfTopics(now time.Time, limit int, limits map[string]int) driver.ClaimParams {
	p := driver.ClaimParams{Limit: limit, Now: now}
	for topic, topicLimit := range limits {
		p.Topics = append(p.Topics, driver.ClaimTopic{Topic: topic, Limit: topicLimit, LockedUntil: now.Add(lock)})
	}
	return p
}

// testClaimByPriority: a claim takes the due jobs of the highest priority
// first, then those due earliest, then those with the smallest id, across
// topics and within each, up to each topic's limit and its own, and
// returns them in that order, with their priorities.
func testClaimByPriority(t *testing.T, s *suite) {
	d := s.open(t)
	stored := insert(t, d,
		prioritized("a-low", "a", -5, t0.Add(-time.Hour)),
		prioritized("a-plain1", "a", 0, t0.Add(-3*time.Minute)),
		prioritized("a-plain2", "a", 0, t0.Add(-time.Minute)),
		prioritized("a-high", "a", 10, t0.Add(-30*time.Second)),
		prioritized("a-higher", "a", 20, t0.Add(-10*time.Second)),
		prioritized("b-high", "b", 10, t0.Add(-2*time.Minute)),
		prioritized("b-plain", "b", 0, t0.Add(-4*time.Minute)),
		prioritized("b-low", "b", -1, t0.Add(-5*time.Minute)),
	)
	priorities := make(map[string]int)
	for _, r := range stored {
		priorities[r.ID] = r.Priority
		wantRow(t, r.ID+": stored row", get(t, d, r.ID), r)
	}

	first := claim(t, d, claimOfTopics(t0, 3, map[string]int{"a": 1, "b": 2}))
	wantIDs(t, "claim of 3, at most 1 of a", idsOf(first), []string{"a-higher", "b-high", "b-plain"})
	second := claim(t, d, claimOfTopics(t0, 3, map[string]int{"a": 2, "b": 2}))
	wantIDs(t, "claim of 3, at most 2 of each", idsOf(second), []string{"a-high", "a-plain1", "b-low"})
	third := claim(t, d, claimOfTopics(t0, 3, map[string]int{"a": 3, "b": 3}))
	wantIDs(t, "claim of the rest", idsOf(third), []string{"a-plain2", "a-low"})
	for _, r := range append(append(first, second...), third...) {
		if r.Priority != priorities[r.ID] {
			t.Fatalf("claimed %s with priority %d, want %d", r.ID, r.Priority, priorities[r.ID])
		}
	}

	// Due at one instant at one priority: by id, whatever the order they
	// were stored in, and a topic's limit holds among them.
	insert(t, d,
		prioritized("c2", "c", 3, t0), prioritized("c3", "c", 3, t0), prioritized("c1", "c", 3, t0),
		prioritized("c0", "c", 2, t0.Add(-time.Hour)))
	wantIDs(t, "claim of ties, at most 2", idsOf(claim(t, d, claimOfTopics(t0, 10, map[string]int{"c": 2}))),
		[]string{"c1", "c2"})
	wantIDs(t, "claim of the rest of the ties", idsOf(claim(t, d, claimOfTopics(t0, 10, map[string]int{"c": 2}))),
		[]string{"c3", "c0"})
}

// testClaimDelayedJobs: jobs not due yet are not claimed, whatever their
// priority, however few jobs are due; once due, they are, in priority
// order. NextRunAt looks ahead to the earliest of them, of any priority.
func testClaimDelayedJobs(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d,
		prioritized("due-plain", "t", 0, t0.Add(-time.Minute)),
		prioritized("soon-high", "t", 5, t0.Add(time.Minute)),
		prioritized("later-plain", "t", 0, t0.Add(2*time.Minute)),
		prioritized("latest-low", "t", -5, t0.Add(3*time.Minute)),
		prioritized("only-low", "low", -2, t0.Add(5*time.Minute)),
		prioritized("only-high", "high", 2, t0.Add(4*time.Minute)),
	)
	wantIDs(t, "claim at t0", idsOf(claim(t, d, claimOf(t0, t0.Add(lock), 10, "t", "low", "high"))),
		[]string{"due-plain"})
	wantTime(t, "NextRunAt(t)", nextRunAt(t, d, "t"), t0.Add(time.Minute))
	wantTime(t, "NextRunAt(low)", nextRunAt(t, d, "low"), t0.Add(5*time.Minute))
	wantTime(t, "NextRunAt(low, high)", nextRunAt(t, d, "low", "high"), t0.Add(4*time.Minute))
	wantIDs(t, "claim before any is due", idsOf(claim(t, d, claimOf(t0.Add(30*time.Second), t0.Add(lock), 10, "t"))),
		[]string{})
	wantIDs(t, "claim once the high one is due", idsOf(claim(t, d, claimOf(t0.Add(90*time.Second), t0.Add(lock), 10, "t"))),
		[]string{"soon-high"})
	wantTime(t, "NextRunAt(t) after it", nextRunAt(t, d, "t"), t0.Add(2*time.Minute))
	wantIDs(t, "claim once all are due", idsOf(claim(t, d, claimOf(far, far.Add(lock), 10, "t", "low", "high"))),
		[]string{"only-high", "later-plain", "only-low", "latest-low"})
	wantTime(t, "NextRunAt of nothing pending", nextRunAt(t, d, "t", "low", "high"), time.Time{})
}
