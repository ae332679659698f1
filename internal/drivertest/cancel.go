package drivertest

import (
	"slices"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// cancel cancels job id at now and fails t on error.
func cancel(t *testing.T, d driver.Driver, id string, now time.Time) driver.JobRow {
	t.Helper()
	row, err := d.Cancel(t.Context(), driver.CancelParams{ID: id, Now: now})
	if err != nil {
		t.Fatalf("Cancel(%s): %v", id, err)
	}
	return row
}

// testCancelPending: a pending job is cancelled, as it was but for its
// status and update time, and no claim takes it.
func testCancelPending(t *testing.T, s *suite) {
	d := s.open(t)
	stored := insert(t, d, job("a", t0))[0]
	now := t0.Add(time.Minute)
	want := stored
	want.Status, want.Updated = driver.StatusCancelled, now
	wantRow(t, "cancelled row", cancel(t, d, "a", now), want)
	wantRow(t, "cancelled job", get(t, d, "a"), want)
	wantIDs(t, "claim after the cancel", idsOf(claim(t, d, claimOf(far, far.Add(lock), 10, "a"))), []string{})
}

// testCancelProcessing: a processing job is cancelled and its lock dropped;
// then neither the outcome of its attempt nor the end of its lock changes
// it.
func testCancelProcessing(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, job("a", t0))
	claimed := claimJob(t, d, "a", t0, t0.Add(lock))
	now := t0.Add(time.Minute)
	want := claimed
	want.Status, want.LockedUntil, want.Updated = driver.StatusCancelled, time.Time{}, now
	wantRow(t, "cancelled row", cancel(t, d, "a", now), want)
	wantRow(t, "cancelled job", get(t, d, "a"), want)

	later := now.Add(time.Second)
	finish(t, d, later, 0, driver.Outcome{ID: "a", LockVersion: claimed.LockVersion, Status: driver.StatusCompleted})
	finish(t, d, later, 0, driver.Outcome{ID: "a", LockVersion: claimed.LockVersion, Status: driver.StatusPending,
		RunAt: later, ReleaseAttempt: true})
	if n, err := d.RecoverExpired(t.Context(), driver.RecoverParams{Now: far, LastError: "lock expired"}); err != nil || n != 0 {
		t.Fatalf("RecoverExpired = %d, %v; want 0", n, err)
	}
	wantRow(t, "cancelled job after its attempt ended", get(t, d, "a"), want)
}

// testCancelRefused: a completed, failed or cancelled job cannot be
// cancelled and stays as it is; an unknown one is not found.
func testCancelRefused(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, job("done", t0), job("dead", t0), job("gone", t0))
	moveTo(t, d, "done", driver.StatusCompleted)
	moveTo(t, d, "dead", driver.StatusFailed)
	cancel(t, d, "gone", t0)
	for _, id := range []string{"done", "dead", "gone"} {
		before := get(t, d, id)
		_, err := d.Cancel(t.Context(), driver.CancelParams{ID: id, Now: far})
		wantErr(t, "Cancel of a "+before.Status+" job", err, driver.ErrWrongStatus)
		wantRow(t, "job after a refused cancel", get(t, d, id), before)
	}
	_, err := d.Cancel(t.Context(), driver.CancelParams{ID: "nope", Now: far})
	wantErr(t, "Cancel of an unknown job", err, driver.ErrNotFound)
}

// testLost: Lost names the claims whose job is no longer processing under
// them — cancelled, deleted, requeued, finished, recovered and claimed
// again, or never stored — and not those still held.
func testLost(t *testing.T, s *suite) {
	d := s.open(t)
	if lost, err := d.Lost(t.Context(), driver.LostParams{}); err != nil || lost != nil {
		t.Fatalf("Lost of no claims = %v, %v; want nil", lost, err)
	}
	ids := []string{"held", "cancelled", "deleted", "requeued", "finished", "reclaimed"}
	for _, id := range ids {
		insert(t, d, job(id, t0))
	}
	claims := make(map[string]driver.Claim, len(ids))
	for _, id := range ids {
		lockedUntil := t0.Add(lock)
		if id == "reclaimed" {
			lockedUntil = t0.Add(time.Second)
		}
		claims[id] = driver.Claim{ID: id, LockVersion: claimJob(t, d, id, t0, lockedUntil).LockVersion}
	}
	now := t0.Add(time.Minute)
	cancel(t, d, "cancelled", now)
	cancel(t, d, "deleted", now)
	if _, err := d.Delete(t.Context(), driver.DeleteParams{ID: "deleted"}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	cancel(t, d, "requeued", now)
	if _, err := d.Requeue(t.Context(), driver.RequeueParams{ID: "requeued", RunAt: far, Now: now}); err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	finish(t, d, now, 1, driver.Outcome{ID: "finished", LockVersion: claims["finished"].LockVersion, Status: driver.StatusCompleted})
	if n, err := d.RecoverExpired(t.Context(), driver.RecoverParams{Now: now, LastError: "lock expired"}); err != nil || n != 1 {
		t.Fatalf("RecoverExpired = %d, %v; want 1", n, err)
	}
	reclaimed := driver.Claim{ID: "reclaimed", LockVersion: claimJob(t, d, "reclaimed", now, now.Add(lock)).LockVersion}

	all := []driver.Claim{reclaimed, {ID: "ghost", LockVersion: 1}}
	for _, id := range ids {
		all = append(all, claims[id])
	}
	lost, err := d.Lost(t.Context(), driver.LostParams{Claims: all})
	if err != nil {
		t.Fatalf("Lost: %v", err)
	}
	slices.Sort(lost)
	wantIDs(t, "lost claims", lost, []string{"cancelled", "deleted", "finished", "ghost", "reclaimed", "requeued"})
	lost, err = d.Lost(t.Context(), driver.LostParams{Claims: []driver.Claim{claims["held"], reclaimed}})
	if err != nil || len(lost) != 0 {
		t.Fatalf("Lost of claims still held = %v, %v; want none", lost, err)
	}
}
