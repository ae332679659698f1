package drivertest

import (
	"slices"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// testFinishBatch: one Finish call writes each kind of outcome, and skips
// outcomes of unknown jobs and stale claims.
func testFinishBatch(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, job("done", t0), job("retry", t0), job("dead", t0))
	done := claimJob(t, d, "done", t0, t0.Add(lock))
	retry := claimJob(t, d, "retry", t0, t0.Add(lock))
	dead := claimJob(t, d, "dead", t0, t0.Add(lock))

	now := t0.Add(time.Minute)
	finish(t, d, now, 3,
		driver.Outcome{ID: "done", LockVersion: done.LockVersion + 1, Status: driver.StatusFailed, LastError: "stale"},
		driver.Outcome{ID: "done", LockVersion: done.LockVersion, Status: driver.StatusCompleted},
		driver.Outcome{ID: "retry", LockVersion: retry.LockVersion, Status: driver.StatusPending,
			RunAt: t0.Add(4 * time.Minute), LastError: "boom"},
		driver.Outcome{ID: "dead", LockVersion: dead.LockVersion, Status: driver.StatusFailed, LastError: "fatal"},
		driver.Outcome{ID: "ghost", LockVersion: 1, Status: driver.StatusCompleted},
	)

	want := done
	want.Status, want.LockedUntil, want.Updated = driver.StatusCompleted, time.Time{}, now
	wantRow(t, "completed job", get(t, d, "done"), want)

	want = retry
	want.Status, want.RunAt, want.LastError = driver.StatusPending, t0.Add(4*time.Minute), "boom"
	want.LockedUntil, want.Updated = time.Time{}, now
	wantRow(t, "job to retry", get(t, d, "retry"), want)

	want = dead
	want.Status, want.LastError, want.LockedUntil, want.Updated = driver.StatusFailed, "fatal", time.Time{}, now
	wantRow(t, "failed job", get(t, d, "dead"), want)

	finish(t, d, now, 0) // nothing to write
	// Finished jobs are no longer processing: the same outcome again is stale.
	finish(t, d, now, 0, driver.Outcome{ID: "done", LockVersion: done.LockVersion, Status: driver.StatusFailed})
}

// testFinishFenced: after a lock expired and the job was claimed again, the
// first claim's outcome is skipped and the second's is written.
func testFinishFenced(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, job("a", t0))
	first := claimJob(t, d, "a", t0, t0.Add(time.Second))
	n, err := d.RecoverExpired(t.Context(), driver.RecoverParams{Now: t0.Add(time.Minute), LastError: "lock expired"})
	if err != nil || n != 1 {
		t.Fatalf("RecoverExpired = %d, %v; want 1", n, err)
	}
	second := claimJob(t, d, "a", t0.Add(time.Minute), t0.Add(time.Minute+lock))
	if second.LockVersion <= first.LockVersion || second.Attempts != 2 {
		t.Fatalf("second claim: lock version %d, attempts %d; want above %d, 2",
			second.LockVersion, second.Attempts, first.LockVersion)
	}

	finish(t, d, t0.Add(2*time.Minute), 0,
		driver.Outcome{ID: "a", LockVersion: first.LockVersion, Status: driver.StatusFailed, LastError: "late"})
	wantRow(t, "job after a stale outcome", get(t, d, "a"), second)

	finish(t, d, t0.Add(3*time.Minute), 1,
		driver.Outcome{ID: "a", LockVersion: second.LockVersion, Status: driver.StatusCompleted})
	if got := get(t, d, "a"); got.Status != driver.StatusCompleted {
		t.Fatalf("job is %s, want completed", got.Status)
	}
}

// testFinishKeeps: an outcome without RunAt keeps the job's run_at, and one
// without LastError keeps the error of the last failed attempt.
func testFinishKeeps(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, job("a", t0))
	first := claimJob(t, d, "a", t0, t0.Add(lock))
	retryAt := t0.Add(time.Minute)
	finish(t, d, t0, 1, driver.Outcome{ID: "a", LockVersion: first.LockVersion, Status: driver.StatusPending,
		RunAt: retryAt, LastError: "boom"})
	second := claimJob(t, d, "a", retryAt, retryAt.Add(lock))
	finish(t, d, retryAt, 1, driver.Outcome{ID: "a", LockVersion: second.LockVersion, Status: driver.StatusCompleted})
	got := get(t, d, "a")
	wantTime(t, "RunAt", got.RunAt, retryAt)
	if got.LastError != "boom" || got.Attempts != 2 {
		t.Fatalf("completed job: last error %q, attempts %d; want \"boom\", 2", got.LastError, got.Attempts)
	}
}

// testRelease: a released job is pending again with its attempt given back,
// and can be claimed at once.
func testRelease(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, job("a", t0))
	first := claimJob(t, d, "a", t0, t0.Add(lock))
	now := t0.Add(time.Second)
	finish(t, d, now, 1, driver.Outcome{ID: "a", LockVersion: first.LockVersion, Status: driver.StatusPending,
		RunAt: now, ReleaseAttempt: true})
	got := get(t, d, "a")
	if got.Status != driver.StatusPending || got.Attempts != 0 {
		t.Fatalf("released job: status %s, attempts %d; want pending, 0", got.Status, got.Attempts)
	}
	wantTime(t, "LockedUntil", got.LockedUntil, time.Time{})
	second := claimJob(t, d, "a", now, now.Add(lock))
	if second.Attempts != 1 || second.LockVersion <= first.LockVersion {
		t.Fatalf("claim after release: attempts %d, lock version %d; want 1, above %d",
			second.Attempts, second.LockVersion, first.LockVersion)
	}
}

// testRecoverExpired: processing jobs whose lock ran out go back to pending,
// or to failed when no retry is left; live locks and other jobs stay.
func testRecoverExpired(t *testing.T, s *suite) {
	d := s.open(t)
	exhausted := job("exhausted", t0)
	exhausted.MaxRetries = 0
	insert(t, d, exhausted, job("retriable", t0), job("boundary", t0), job("live", t0), job("idle", t0), job("done", t0))
	now := t0.Add(10 * time.Minute)
	claimedExhausted := claimJob(t, d, "exhausted", t0, t0.Add(time.Minute))
	claimedRetriable := claimJob(t, d, "retriable", t0, t0.Add(time.Minute))
	claimedBoundary := claimJob(t, d, "boundary", t0, now)
	claimedLive := claimJob(t, d, "live", t0, now.Add(time.Microsecond))
	moveTo(t, d, "done", driver.StatusCompleted)
	idle := get(t, d, "idle")
	done := get(t, d, "done")

	n, err := d.RecoverExpired(t.Context(), driver.RecoverParams{Now: now, LastError: "lock expired"})
	if err != nil || n != 3 {
		t.Fatalf("RecoverExpired = %d, %v; want 3", n, err)
	}

	want := claimedExhausted
	want.Status, want.LastError, want.LockedUntil, want.Updated = driver.StatusFailed, "lock expired", time.Time{}, now
	wantRow(t, "job without retries left", get(t, d, "exhausted"), want)

	for _, claimed := range []driver.JobRow{claimedRetriable, claimedBoundary} {
		want = claimed
		want.Status, want.RunAt, want.LastError = driver.StatusPending, now, "lock expired"
		want.LockedUntil, want.Updated = time.Time{}, now
		wantRow(t, "recovered "+claimed.ID, get(t, d, claimed.ID), want)
	}
	wantRow(t, "job with a live lock", get(t, d, "live"), claimedLive)
	wantRow(t, "pending job", get(t, d, "idle"), idle)
	wantRow(t, "completed job", get(t, d, "done"), done)

	// The handler of the recovered claim returns late: its outcome is stale.
	finish(t, d, now, 0, driver.Outcome{ID: "retriable", LockVersion: claimedRetriable.LockVersion,
		Status: driver.StatusCompleted})
	if n, err := d.RecoverExpired(t.Context(), driver.RecoverParams{Now: now, LastError: "again"}); err != nil || n != 0 {
		t.Fatalf("second RecoverExpired = %d, %v; want 0", n, err)
	}
}

// testClaimWritesOutcomesFirst: a claim that carries outcomes writes them,
// fenced as Finish does, before it chooses its jobs — a job its outcome
// makes runnable again is claimed by the same claim — and a claim of no
// topic writes its outcomes alone.
func testClaimWritesOutcomesFirst(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, job("done", t0), job("retry", t0), job("next", t0), job("later", t0))
	done := claimJob(t, d, "done", t0, t0.Add(lock))
	retry := claimJob(t, d, "retry", t0, t0.Add(lock))

	now := t0.Add(time.Minute)
	p := claimOf(now, now.Add(lock), 10, "retry", "next")
	p.Outcomes = []driver.Outcome{
		{ID: "done", LockVersion: done.LockVersion, Status: driver.StatusCompleted},
		{ID: "done", LockVersion: done.LockVersion + 1, Status: driver.StatusFailed, LastError: "stale"},
		{ID: "retry", LockVersion: retry.LockVersion, Status: driver.StatusPending, RunAt: now, LastError: "boom"},
	}
	rows := claim(t, d, p)
	if got := idsOf(rows); !slices.Equal(got, []string{"next", "retry"}) && !slices.Equal(got, []string{"retry", "next"}) {
		t.Fatalf("a claim with outcomes claimed %v, want next and retry (made runnable by its outcome)", got)
	}
	want := done
	want.Status, want.LockedUntil, want.Updated = driver.StatusCompleted, time.Time{}, now
	wantRow(t, "job completed by the claim's outcome", get(t, d, "done"), want)
	if got := get(t, d, "retry"); got.Status != driver.StatusProcessing || got.Attempts != 2 || got.LastError != "boom" {
		t.Fatalf("job retried and claimed again: %s, %d attempts, last error %q; want processing, 2, boom",
			got.Status, got.Attempts, got.LastError)
	}

	next := rows[slices.IndexFunc(rows, func(r driver.JobRow) bool { return r.ID == "next" })]
	if got := get(t, d, "next"); got.LockVersion != next.LockVersion || !got.LockedUntil.Equal(next.LockedUntil) {
		t.Fatalf("claimed job as stored: lock version %d until %v; the claim returned %d until %v",
			got.LockVersion, got.LockedUntil, next.LockVersion, next.LockedUntil)
	}
	alone := driver.ClaimParams{Now: now.Add(time.Second), Outcomes: []driver.Outcome{
		{ID: "next", LockVersion: next.LockVersion, Status: driver.StatusCompleted},
	}}
	if rows := claim(t, d, alone); len(rows) != 0 {
		t.Fatalf("a claim of no topic claimed %v", idsOf(rows))
	}
	if got := get(t, d, "next"); got.Status != driver.StatusCompleted {
		t.Fatalf("job completed by a claim of no topic is %s", got.Status)
	}
	if got := get(t, d, "later"); got.Status != driver.StatusPending {
		t.Fatalf("job of a topic no claim named is %s, want pending", got.Status)
	}
}
