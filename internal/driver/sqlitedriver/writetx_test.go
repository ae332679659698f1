package sqlitedriver

import (
	"context"
	"database/sql"
	"path/filepath"
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
	path := filepath.Join(t.TempDir(), "data.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	write, err := dbx.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer write.Close()
	write.DB().SetMaxOpenConns(1)
	d := New(write, write)
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := d.Insert(t.Context(), []driver.InsertParams{{ID: "a", Topic: "t", Payload: []byte(`{}`), RunAt: now, Now: now}}); err != nil {
		t.Fatal(err)
	}

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	holder, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}

	type result struct {
		rows []driver.JobRow
		err  error
	}
	claimed := make(chan result, 1)
	go func() {
		rows, err := d.Claim(context.Background(), driver.ClaimParams{
			Topics: []driver.ClaimTopic{{Topic: "t", Limit: 1, LockedUntil: now.Add(time.Minute)}}, Limit: 1, Now: now,
		})
		claimed <- result{rows, err}
	}()
	// What must not happen: the claim ending while the lock is held.
	select {
	case r := <-claimed:
		t.Fatalf("the claim ended while another connection held the write lock: %v, %v", r.rows, r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := holder.ExecContext(t.Context(), `COMMIT`); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-claimed:
		if r.err != nil || len(r.rows) != 1 || r.rows[0].ID != "a" {
			t.Fatalf("claim after the lock was released = %v, %v; want job a", r.rows, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the claim did not end within the busy timeout after the lock was released")
	}
}
