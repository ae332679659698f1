package sqlitedriver

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// TestClaimWaitsForAnotherProcessesWrite: while another connection (as of
// another process sharing pb_data) holds SQLite's write lock, a claim waits
// for it, within the busy timeout, instead of failing: it takes the lock
// before it reads the jobs to claim. A claim that read first would be
// refused the lock at once (SQLITE_BUSY).
func TestClaimWaitsForAnotherProcessesWrite(t *testing.T) {
	d, holder, now := lockedDatabase(t)
	claimed := claimInBackground(d, driver.ClaimParams{
		Topics: []driver.ClaimTopic{{Topic: "t", Limit: 1, LockedUntil: now.Add(time.Minute)}}, Limit: 1, Now: now,
	})
	// What must not happen: the claim ending while the lock is held.
	select {
	case r := <-claimed:
		t.Fatalf("the claim ended while another connection held the write lock: %v, %v", r.rows, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := holder.ExecContext(t.Context(), `COMMIT`); err != nil {
		t.Fatal(err)
	}
	wantClaimed(t, claimed, "a")
}

// TestLateClaimBindsOnceItHoldsTheWriteLock: a late claim
// (driver.ClaimParams.Bind) that waits for the write lock binds only once it
// holds it, once, and claims what Bind returned, not its other fields.
func TestLateClaimBindsOnceItHoldsTheWriteLock(t *testing.T) {
	d, holder, now := lockedDatabase(t)
	var binds atomic.Int32
	claimed := claimInBackground(d, driver.ClaimParams{
		Topics: []driver.ClaimTopic{{Topic: "other", Limit: 5, LockedUntil: now.Add(time.Minute)}}, Limit: 5, Now: now,
		Bind: func() driver.ClaimParams {
			binds.Add(1)
			return driver.ClaimParams{
				Topics: []driver.ClaimTopic{{Topic: "t", Limit: 1, LockedUntil: now.Add(time.Minute)}}, Limit: 1, Now: now,
			}
		},
	})
	select {
	case r := <-claimed:
		t.Fatalf("the late claim ended while another connection held the write lock: %v, %v", r.rows, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if n := binds.Load(); n != 0 {
		t.Fatalf("the late claim bound %d times while another connection held the write lock, want 0", n)
	}
	if _, err := holder.ExecContext(t.Context(), `COMMIT`); err != nil {
		t.Fatal(err)
	}
	wantClaimed(t, claimed, "a")
	if n := binds.Load(); n != 1 {
		t.Fatalf("the late claim bound %d times, want once", n)
	}
}

// lockedDatabase returns a driver over a database file holding one pending
// job "a" of topic "t" (run at now), and another connection to the file
// that holds its write lock, as another process would, until it commits.
func lockedDatabase(t *testing.T) (d *Driver, holder *sql.Conn, now time.Time) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	write, err := dbx.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = write.Close() })
	write.DB().SetMaxOpenConns(1)
	d = New(write, write)
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now = time.Now()
	if _, err := d.Insert(t.Context(), []driver.InsertParams{{ID: "a", Topic: "t", Payload: []byte(`{}`), RunAt: now, Now: now}}); err != nil {
		t.Fatal(err)
	}

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	holder, err = other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() })
	if _, err := holder.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	return d, holder, now
}

// claimResult is what a claim in the background returned.
type claimResult struct {
	rows []driver.JobRow
	err  error
}

// claimInBackground makes claim p of d on a goroutine of its own, and
// sends what it returned on the channel it returns.
func claimInBackground(d *Driver, p driver.ClaimParams) <-chan claimResult {
	claimed := make(chan claimResult, 1)
	go func() {
		rows, err := d.Claim(context.Background(), p)
		claimed <- claimResult{rows, err}
	}()
	return claimed
}

// wantClaimed waits for the claim in the background to claim exactly the
// job id, within the busy timeout.
func wantClaimed(t *testing.T, claimed <-chan claimResult, id string) {
	t.Helper()
	select {
	case r := <-claimed:
		if r.err != nil || len(r.rows) != 1 || r.rows[0].ID != id {
			t.Fatalf("claim after the lock was released = %v, %v; want job %s", r.rows, r.err, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the claim did not end within the busy timeout after the lock was released")
	}
}
