package drivertest

import (
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// testPause: the jobs of a paused topic are neither claimed nor looked
// ahead to, while those of other topics are; once the topic is resumed,
// they are both. Pausing or resuming twice does what once does, and a pause
// outlives a migration.
func testPause(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d,
		topicJob("a-due", "a", t0.Add(-2*time.Minute)), topicJob("a-later", "a", t0.Add(time.Hour)),
		topicJob("b-due", "b", t0.Add(-time.Minute)), topicJob("b-later", "b", t0.Add(2*time.Hour)))

	setPaused(t, d, "a", true)
	setPaused(t, d, "a", true)
	wantTime(t, "NextRunAt of a paused topic", nextRunAt(t, d, "a"), time.Time{})
	wantTime(t, "NextRunAt of a paused topic and another", nextRunAt(t, d, "a", "b"), t0.Add(-time.Minute))
	wantIDs(t, "claim of a paused topic and another", idsOf(claim(t, d, claimOf(far, far.Add(lock), 10, "a", "b"))),
		[]string{"b-due", "b-later"})
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	wantIDs(t, "claim of a paused topic after migrating again", idsOf(claim(t, d, claimOf(far, far.Add(lock), 10, "a"))),
		[]string{})

	setPaused(t, d, "a", false)
	setPaused(t, d, "a", false)
	setPaused(t, d, "never-paused", false)
	wantTime(t, "NextRunAt of a resumed topic", nextRunAt(t, d, "a", "b"), t0.Add(-2*time.Minute))
	wantIDs(t, "claim of a resumed topic", idsOf(claim(t, d, claimOf(t0, t0.Add(lock), 10, "a", "b"))),
		[]string{"a-due"})
	if st := get(t, d, "a-later").Status; st != driver.StatusPending {
		t.Fatalf("a job not due yet is %s, want pending", st)
	}
}
