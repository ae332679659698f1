package drivertest

import (
	"slices"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// testTopics: Topics lists, in topic order, every topic that has jobs or is
// paused, with its jobs counted per status and whether it is paused.
func testTopics(t *testing.T, s *suite) {
	d := s.open(t)
	wantTopics := func(what string, want ...driver.TopicStats) {
		t.Helper()
		got, err := d.Topics(t.Context())
		if err != nil {
			t.Fatalf("Topics: %v", err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Topics %s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	wantTopics("of an empty table")

	insert(t, d,
		topicJob("m1", "mail", far), topicJob("m2", "mail", t0.Add(-4*time.Minute)),
		topicJob("m3", "mail", t0.Add(-3*time.Minute)), topicJob("m4", "mail", t0.Add(-2*time.Minute)),
		topicJob("m5", "mail", t0.Add(-time.Minute)),
		topicJob("r1", "report", t0), topicJob("r2", "report", far))
	claimed := claim(t, d, claimOf(t0, t0.Add(lock), 4, "mail"))
	wantIDs(t, "claimed", idsOf(claimed), []string{"m2", "m3", "m4", "m5"})
	finish(t, d, t0, 2,
		driver.Outcome{ID: "m3", LockVersion: claimed[1].LockVersion, Status: driver.StatusCompleted},
		driver.Outcome{ID: "m4", LockVersion: claimed[2].LockVersion, Status: driver.StatusFailed})
	cancel(t, d, "m5", t0)
	mail := driver.TopicStats{Topic: "mail", Stats: driver.Stats{Pending: 1, Processing: 1, Completed: 1, Failed: 1, Cancelled: 1}}
	report := driver.TopicStats{Topic: "report", Stats: driver.Stats{Pending: 2}}
	wantTopics("with jobs", mail, report)

	setPaused(t, d, "report", true)
	setPaused(t, d, "idle", true)
	report.Paused = true
	wantTopics("with paused topics", driver.TopicStats{Topic: "idle", Paused: true}, mail, report)

	setPaused(t, d, "idle", false)
	wantTopics("after a resume", mail, report)
}
