package jobs

import (
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// topicRoom keeps each topic's HandlerOptions.Concurrency in one run of the
// dispatcher: it decides how many jobs of each topic a claim may take, and
// counts the jobs of limited topics that run, or that a claim on its way
// may bring. Topics without a limit below Config.Workers are not counted:
// the free workers bound them already.
type topicRoom struct {
	handlers *handlerRegistry
	// workers is Config.Workers; lockDuration is Config.LockDuration.
	workers      int
	lockDuration time.Duration
	// wake asks the claim loop for a claim.
	wake func()

	mu sync.Mutex
	// used counts, per limited topic, the jobs running or reserved; it has
	// an entry for every limited topic a claim reserved room for, and only
	// for those.
	used map[string]int
	// full marks limited topics a claim found without room, or filled: a
	// job of theirs that ends asks for a claim, as more may wait.
	full map[string]bool
}

// newTopicRoom returns the room of a run with the given number of workers
// and default lock.
func newTopicRoom(handlers *handlerRegistry, workers int, lockDuration time.Duration, wake func()) *topicRoom {
	return &topicRoom{
		handlers: handlers, workers: workers, lockDuration: lockDuration, wake: wake,
		used: make(map[string]int), full: make(map[string]bool),
	}
}

// limit returns a topic's concurrency limit, or 0 when it has none below
// the number of workers.
func (t *topicRoom) limit(reg *registration) int {
	if c := reg.opts.Concurrency; c > 0 && c < t.workers {
		return c
	}
	return 0
}

// reserve returns the topics a claim of up to limit jobs made at now may
// take jobs of, each with the jobs it may take and its lock expiry, and
// reserves that room until unreserve. A limited topic without room is left
// out.
func (t *topicRoom) reserve(limit int, now time.Time) []driver.ClaimTopic {
	topics := t.handlers.list()
	claim := make([]driver.ClaimTopic, 0, len(topics))
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, topic := range topics {
		reg := t.handlers.get(topic)
		room := limit
		if c := t.limit(reg); c > 0 {
			room = min(room, c-t.used[topic])
			if room <= 0 {
				t.full[topic] = true
				continue
			}
			t.used[topic] += room
		}
		claim = append(claim, driver.ClaimTopic{Topic: topic, Limit: room, LockedUntil: now.Add(reg.lock(t.lockDuration))})
	}
	return claim
}

// unreserve gives back the room that reserve gave a claim and its jobs
// did not fill. A limited topic whose room was filled is marked full.
func (t *topicRoom) unreserve(reserved []driver.ClaimTopic, claimed []driver.JobRow) {
	var got map[string]int
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range reserved {
		if _, limited := t.used[r.Topic]; !limited {
			continue
		}
		if got == nil {
			got = make(map[string]int)
			for _, row := range claimed {
				got[row.Topic]++
			}
		}
		t.used[r.Topic] -= r.Limit - got[r.Topic]
		if got[r.Topic] == r.Limit {
			t.full[r.Topic] = true
		}
	}
}

// done records that a job of topic ended. When the topic was full, it
// asks for a claim: its jobs may wait for the room this one leaves.
func (t *topicRoom) done(topic string) {
	t.mu.Lock()
	if _, limited := t.used[topic]; !limited {
		t.mu.Unlock()
		return
	}
	t.used[topic]--
	wake := t.full[topic]
	delete(t.full, topic)
	t.mu.Unlock()
	if wake {
		t.wake()
	}
}
