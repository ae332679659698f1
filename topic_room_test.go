package jobs

import (
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// TestTopicRoomReservesWithinConcurrency: a limited topic is offered only
// the room its running and reserved jobs leave, room a claim did not fill
// comes back, and a job ending in a topic that was full asks for a claim.
func TestTopicRoomReservesWithinConcurrency(t *testing.T) {
	var r handlerRegistry
	noop := func(*Job) error { return nil }
	if err := r.add("narrow", noop, HandlerOptions{Concurrency: 3, LockDuration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := r.add("wide", noop, HandlerOptions{}); err != nil {
		t.Fatal(err)
	}
	wakes := 0
	room := newTopicRoom(&r, 10, time.Minute, func() { wakes++ })
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	limits := func(claim []driver.ClaimTopic) map[string]int {
		m := map[string]int{}
		for _, c := range claim {
			m[c.Topic] = c.Limit
		}
		return m
	}

	first := room.reserve(8, now)
	if got := limits(first); got["narrow"] != 3 || got["wide"] != 8 || len(got) != 2 {
		t.Fatalf("first claim offered %v, want narrow 3 and wide 8", got)
	}
	for _, c := range first {
		want := now.Add(time.Minute)
		if c.Topic == "narrow" {
			want = now.Add(time.Hour)
		}
		if !c.LockedUntil.Equal(want) {
			t.Errorf("%s locked until %s, want %s", c.Topic, c.LockedUntil, want)
		}
	}
	// While the first claim is on its way, its room stays reserved.
	if got := limits(room.reserve(8, now)); got["narrow"] != 0 || got["wide"] != 8 {
		t.Fatalf("a second claim in flight was offered %v, want no narrow", got)
	}
	room.unreserve(nil, nil) // the second claim reserved nothing of narrow
	// The first claim brings back one narrow job: two slots come back.
	room.unreserve(first, []driver.JobRow{{Topic: "narrow"}, {Topic: "wide"}})
	if got := limits(room.reserve(8, now)); got["narrow"] != 2 {
		t.Fatalf("after one narrow job was claimed, offered %v, want narrow 2", got)
	}
	// That claim fills both: narrow is full, and a job ending asks for a claim.
	room.unreserve([]driver.ClaimTopic{{Topic: "narrow", Limit: 2}}, []driver.JobRow{{Topic: "narrow"}, {Topic: "narrow"}})
	room.done("wide")
	if wakes != 0 {
		t.Fatalf("a job of an unlimited topic asked for %d claims", wakes)
	}
	room.done("narrow")
	if wakes != 1 {
		t.Fatalf("a job ending in a full topic asked for %d claims, want 1", wakes)
	}
	room.done("narrow")
	if wakes != 1 {
		t.Fatalf("a second job ending asked for a claim again (%d), though no claim found the topic full since", wakes)
	}
	if got := limits(room.reserve(8, now)); got["narrow"] != 2 {
		t.Fatalf("with one narrow job running, offered %v, want narrow 2", got)
	}
}
