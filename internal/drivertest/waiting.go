package drivertest

import (
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// testWaitingTopics: WaitingTopics names each topic whose oldest pending
// job has been runnable since the given time, with that job's run_at; jobs
// that are not pending count for nothing.
func testWaitingTopics(t *testing.T, s *suite) {
	d := s.open(t)
	wantWaiting := func(since time.Time, want ...driver.WaitingTopic) {
		t.Helper()
		got, err := d.WaitingTopics(t.Context(), driver.WaitingParams{RunnableSince: since})
		if err != nil {
			t.Fatalf("WaitingTopics: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("WaitingTopics(%v) = %v, want %v", since, got, want)
		}
		for i := range want {
			if got[i].Topic != want[i].Topic {
				t.Fatalf("WaitingTopics(%v) = %v, want %v", since, got, want)
			}
			wantTime(t, "oldest run_at of "+want[i].Topic, got[i].Oldest, want[i].Oldest)
		}
	}
	wantWaiting(far)

	oldest, older := t0.Add(-2*time.Hour), t0.Add(-time.Hour)
	insert(t, d,
		topicJob("m1", "mail", older),
		topicJob("m2", "mail", oldest),
		topicJob("m3", "mail", t0.Add(time.Hour)),
		topicJob("r1", "report", t0),
		topicJob("w1", "webhook", t0.Add(time.Hour)),
	)
	// The oldest mail job is claimed and completed: the next one is the
	// oldest of its topic.
	claimed := claim(t, d, claimOf(t0, t0.Add(lock), 1, "mail"))
	wantIDs(t, "claim of the oldest mail job", idsOf(claimed), []string{"m2"})
	finish(t, d, t0, 1, driver.Outcome{ID: "m2", LockVersion: claimed[0].LockVersion, Status: driver.StatusCompleted})

	wantWaiting(oldest)
	wantWaiting(older, driver.WaitingTopic{Topic: "mail", Oldest: older})
	wantWaiting(t0,
		driver.WaitingTopic{Topic: "mail", Oldest: older},
		driver.WaitingTopic{Topic: "report", Oldest: t0},
	)
	wantWaiting(far,
		driver.WaitingTopic{Topic: "mail", Oldest: older},
		driver.WaitingTopic{Topic: "report", Oldest: t0},
		driver.WaitingTopic{Topic: "webhook", Oldest: t0.Add(time.Hour)},
	)
	// A paused topic's jobs wait on purpose.
	setPaused(t, d, "report", true)
	wantWaiting(far,
		driver.WaitingTopic{Topic: "mail", Oldest: older},
		driver.WaitingTopic{Topic: "webhook", Oldest: t0.Add(time.Hour)},
	)
}

// testWaitingTopicsOfAnyPriority: the oldest pending job of a topic is the
// one with the earliest run_at, whatever the priorities, and a topic whose
// pending jobs are all of a priority other than 0 waits as any other.
func testWaitingTopicsOfAnyPriority(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d,
		prioritized("mixed-high", "mixed", 5, t0.Add(-time.Hour)),
		prioritized("mixed-plain", "mixed", 0, t0.Add(-2*time.Hour)),
		prioritized("mixed-low", "mixed", -5, t0.Add(-3*time.Hour)),
		prioritized("high", "high", 1, t0.Add(-time.Minute)),
		prioritized("low", "low", -1, t0.Add(time.Minute)),
	)
	got, err := d.WaitingTopics(t.Context(), driver.WaitingParams{RunnableSince: t0})
	if err != nil {
		t.Fatalf("WaitingTopics: %v", err)
	}
	want := []driver.WaitingTopic{{Topic: "high", Oldest: t0.Add(-time.Minute)}, {Topic: "mixed", Oldest: t0.Add(-3 * time.Hour)}}
	if len(got) != len(want) {
		t.Fatalf("WaitingTopics = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Topic != want[i].Topic {
			t.Fatalf("WaitingTopics = %v, want %v", got, want)
		}
		wantTime(t, "oldest run_at of "+want[i].Topic, got[i].Oldest, want[i].Oldest)
	}
}
