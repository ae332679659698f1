package jobs

import (
	"errors"
	"testing"
	"time"
)

// TestPausedTopicIsNotClaimed: jobs of a paused topic can be enqueued but
// are claimed by no process until the topic is resumed; other topics run.
// On PostgreSQL the pause is made by another process.
func TestPausedTopicIsNotClaimed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		b.configure(t, &cfg)
		shared := backend{name: b.name, configure: func(testing.TB, *Config) {}}
		var calls counter
		worker := startedStore(t, shared, cfg, map[string]func(*Job) error{
			"reports": func(job *Job) error { calls.add(job.ID); return nil },
			"flush":   func(*Job) error { return nil },
		})
		admin := worker
		if b.name == "postgres" {
			admin = GetJobStore(newApp(t, shared, cfg))
		}
		if err := admin.Pause("reports"); err != nil {
			t.Fatalf("Pause: %v", err)
		}
		if err := admin.Pause("reports"); err != nil {
			t.Fatalf("Pause of a paused topic: %v", err)
		}
		job := mustEnqueue(t, worker, "reports", nil, nil)
		flushed(t, worker)
		flushed(t, worker) // and a poll later
		if n := calls.get(job.ID); n != 0 {
			t.Fatalf("a job of a paused topic ran %d times", n)
		}
		info := topicInfo(t, admin, "reports")
		handledByAdmin := admin == worker
		if !info.Paused || info.Pending != 1 || info.HasHandler != handledByAdmin {
			t.Fatalf("topic info while paused: %+v", info)
		}
		if err := admin.Resume("reports"); err != nil {
			t.Fatalf("Resume: %v", err)
		}
		waitStatus(t, worker, job.ID, StatusCompleted)
		if err := admin.Resume("reports"); err != nil {
			t.Fatalf("Resume of a running topic: %v", err)
		}
	})
}

// TestPauseSurvivesRestart: a pause is stored in the job database, so a
// dispatcher started again, or in a new process, still does not claim.
func TestPauseSurvivesRestart(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var calls counter
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"t":     func(job *Job) error { calls.add(job.ID); return nil },
			"flush": func(*Job) error { return nil },
		})
		if err := store.Pause("t"); err != nil {
			t.Fatal(err)
		}
		job := mustEnqueue(t, store, "t", nil, nil)
		if err := store.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := store.Start(); err != nil {
			t.Fatal(err)
		}
		flushed(t, store)
		if n := calls.get(job.ID); n != 0 {
			t.Fatalf("a job of a paused topic ran %d times after a restart", n)
		}
		if err := store.Resume("t"); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, store, job.ID, StatusCompleted)
	})
}

func TestTopicsCountsPerTopic(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"done":    func(*Job) error { return nil },
			"unused":  func(*Job) error { return nil },
			"flakey":  func(*Job) error { return errors.New("flakey") },
			"stopped": func(*Job) error { return nil },
		})
		waitStatus(t, store, mustEnqueue(t, store, "done", nil, nil).ID, StatusCompleted)
		waitStatus(t, store, mustEnqueue(t, store, "flakey", nil, &JobEnqueueOptions{MaxRetries: NoRetries}).ID, StatusFailed)
		mustEnqueue(t, store, "elsewhere", nil, nil)
		cancelled := mustEnqueue(t, store, "elsewhere", nil, &JobEnqueueOptions{RunAt: time.Now().Add(time.Hour)})
		if _, err := store.Cancel(cancelled.ID); err != nil {
			t.Fatal(err)
		}
		if err := store.Pause("stopped"); err != nil {
			t.Fatal(err)
		}
		if err := store.Pause("nobody"); err != nil {
			t.Fatal(err)
		}
		topics, err := store.Topics()
		if err != nil {
			t.Fatal(err)
		}
		want := []TopicInfo{
			{Topic: "done", JobStats: JobStats{Completed: 1, Total: 1}, HasHandler: true},
			{Topic: "elsewhere", JobStats: JobStats{Pending: 1, Cancelled: 1, Total: 2}},
			{Topic: "flakey", JobStats: JobStats{Failed: 1, Total: 1}, HasHandler: true},
			{Topic: "nobody", Paused: true},
			{Topic: "stopped", Paused: true, HasHandler: true},
			{Topic: "unused", HasHandler: true},
		}
		if len(topics) != len(want) {
			t.Fatalf("Topics() = %+v, want %+v", topics, want)
		}
		for i := range want {
			if topics[i] != want[i] {
				t.Errorf("topic %d = %+v, want %+v", i, topics[i], want[i])
			}
		}
	})
}

// topicInfo returns the TopicInfo of topic, or fails the test.
func topicInfo(t *testing.T, store *JobStore, topic string) TopicInfo {
	t.Helper()
	info, err := store.topic(topic)
	if err != nil {
		t.Fatal(err)
	}
	return info
}
