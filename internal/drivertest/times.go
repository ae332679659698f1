package drivertest

import (
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Times at and before the Unix epoch, which a driver must keep like any
// other: none of them means "no time".
var (
	epoch         = time.Unix(0, 0).UTC()
	beforeEpoch   = epoch.Add(-time.Microsecond)
	moonLanding   = time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
	firstInstant  = time.Time{} // January 1 of year 1, Go's zero time
	afterTheEpoch = epoch.Add(time.Microsecond)
)

// testTimesAroundTheEpoch: run_at, created and updated at the epoch, just
// before it, decades before it and at year 1 are stored, read back, ordered
// and compared as the times they are, by every statement that writes or
// reads them.
func testTimesAroundTheEpoch(t *testing.T, s *suite) {
	d := s.open(t)
	at := func(id string, runAt, now time.Time) driver.InsertParams {
		p := job(id, runAt)
		p.Topic, p.Now = "old", now
		return p
	}
	inserted := insert(t, d,
		at("epoch", epoch, epoch),
		at("before", beforeEpoch, beforeEpoch),
		at("moon", moonLanding, moonLanding),
		at("first", firstInstant, moonLanding),
	)
	for _, r := range inserted {
		wantRow(t, "stored "+r.ID, get(t, d, r.ID), r)
	}
	wantTime(t, "stored epoch: Created", get(t, d, "epoch").Created, epoch)
	wantTime(t, "stored first: RunAt", get(t, d, "first").RunAt, firstInstant)

	next, err := d.NextRunAt(t.Context(), driver.NextRunAtParams{Topics: []string{"old"}})
	if err != nil {
		t.Fatalf("NextRunAt: %v", err)
	}
	wantTime(t, "NextRunAt", next, firstInstant)

	// At the epoch, every job but none later is due, earliest first.
	claimed := claim(t, d, claimOf(epoch, epoch.Add(lock), 10, "old"))
	wantIDs(t, "claimed at the epoch", idsOf(claimed), []string{"first", "moon", "before", "epoch"})
	for _, r := range claimed {
		wantTime(t, r.ID+": Updated by the claim", get(t, d, r.ID).Updated, epoch)
	}

	// A retry at the epoch, a failure stamped before it, a requeue to the
	// epoch: each writes the time it was given.
	byID := make(map[string]driver.JobRow, len(claimed))
	for _, r := range claimed {
		byID[r.ID] = r
	}
	finish(t, d, beforeEpoch, 2,
		driver.Outcome{ID: "first", LockVersion: byID["first"].LockVersion, Status: driver.StatusPending, RunAt: epoch, LastError: "retry"},
		driver.Outcome{ID: "moon", LockVersion: byID["moon"].LockVersion, Status: driver.StatusFailed, LastError: "fatal"},
	)
	retried := get(t, d, "first")
	wantTime(t, "retried: RunAt", retried.RunAt, epoch)
	wantTime(t, "retried: Updated", retried.Updated, beforeEpoch)
	requeued, err := d.Requeue(t.Context(), driver.RequeueParams{ID: "moon", RunAt: epoch, Now: afterTheEpoch})
	if err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	wantRow(t, "requeued job", get(t, d, "moon"), requeued)
	wantTime(t, "requeued: RunAt", requeued.RunAt, epoch)
	wantTime(t, "requeued: Updated", requeued.Updated, afterTheEpoch)
}
