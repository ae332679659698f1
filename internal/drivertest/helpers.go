package drivertest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// job describes a pending job whose topic is its id, created at t0 and
// runnable at runAt, with two retries.
func job(id string, runAt time.Time) driver.InsertParams {
	return driver.InsertParams{
		ID: id, Topic: id, Payload: []byte(`{"id":"` + id + `"}`),
		RunAt: runAt, MaxRetries: 2, Now: t0,
	}
}

// topicJob is job(id, runAt) of the given topic.
func topicJob(id, topic string, runAt time.Time) driver.InsertParams {
	p := job(id, runAt)
	p.Topic = topic
	return p
}

// insert stores jobs and fails t on error.
func insert(t *testing.T, d driver.Driver, jobs ...driver.InsertParams) []driver.JobRow {
	t.Helper()
	rows, err := d.Insert(t.Context(), jobs)
	if err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if len(rows) != len(jobs) {
		t.Fatalf("Insert returned %d rows for %d jobs", len(rows), len(jobs))
	}
	return rows
}

// get reads a job and fails t on error.
func get(t *testing.T, d driver.Driver, id string) driver.JobRow {
	t.Helper()
	row, err := d.Get(t.Context(), driver.GetParams{ID: id})
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return row
}

// claim claims and fails t on error.
func claim(t *testing.T, d driver.Driver, p driver.ClaimParams) []driver.JobRow {
	t.Helper()
	rows, err := d.Claim(t.Context(), p)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return rows
}

// claimOf is a claim at now of up to limit jobs of topics, as many of any
// one of them, each locked until lockedUntil.
func claimOf(now, lockedUntil time.Time, limit int, topics ...string) driver.ClaimParams {
	p := driver.ClaimParams{Limit: limit, Now: now}
	for _, topic := range topics {
		p.Topics = append(p.Topics, driver.ClaimTopic{Topic: topic, Limit: limit, LockedUntil: lockedUntil})
	}
	return p
}

// claimJob claims the job whose topic is id at now, locking it until
// lockedUntil, and fails t unless exactly that job was claimed.
func claimJob(t *testing.T, d driver.Driver, id string, now, lockedUntil time.Time) driver.JobRow {
	t.Helper()
	rows := claim(t, d, claimOf(now, lockedUntil, 1, id))
	if len(rows) != 1 || rows[0].ID != id {
		t.Fatalf("Claim of %s returned %v", id, idsOf(rows))
	}
	return rows[0]
}

// nextRunAt calls NextRunAt for topics and fails t on error.
func nextRunAt(t *testing.T, d driver.Driver, topics ...string) time.Time {
	t.Helper()
	at, err := d.NextRunAt(t.Context(), driver.NextRunAtParams{Topics: topics})
	if err != nil {
		t.Fatalf("NextRunAt(%v): %v", topics, err)
	}
	return at
}

// setPaused pauses or resumes topic and fails t on error.
func setPaused(t *testing.T, d driver.Driver, topic string, paused bool) {
	t.Helper()
	if err := d.SetPaused(t.Context(), driver.PauseParams{Topic: topic, Paused: paused, Now: t0}); err != nil {
		t.Fatalf("SetPaused(%s, %v): %v", topic, paused, err)
	}
}

// finish writes outcomes and fails t unless want of them were written.
func finish(t *testing.T, d driver.Driver, now time.Time, want int, outcomes ...driver.Outcome) {
	t.Helper()
	n, err := d.Finish(t.Context(), driver.FinishParams{Outcomes: outcomes, Now: now})
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if n != want {
		t.Fatalf("Finish wrote %d outcomes, want %d", n, want)
	}
}

// moveTo brings the pending job id (topic id) to status through the edges
// a worker takes: claim, then complete or fail. Pending leaves it as is.
func moveTo(t *testing.T, d driver.Driver, id, status string) driver.JobRow {
	t.Helper()
	if status == driver.StatusPending {
		return get(t, d, id)
	}
	row := claimJob(t, d, id, far, far.Add(lock))
	if status != driver.StatusProcessing {
		finish(t, d, far, 1, driver.Outcome{ID: id, LockVersion: row.LockVersion, Status: status, LastError: "moved"})
	}
	return get(t, d, id)
}

// idsOf returns the ids of rows in their order.
func idsOf(rows []driver.JobRow) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

// sortedIDs returns the ids of rows in ascending order.
func sortedIDs(rows []driver.JobRow) []string {
	ids := idsOf(rows)
	slices.Sort(ids)
	return ids
}

// wantIDs fails t unless got holds exactly the ids want, in that order.
func wantIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// wantErr fails t unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// wantTime fails t unless got is want, in UTC.
func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Fatalf("%s: got %v in %v, want UTC", what, got, got.Location())
	}
}

// wantRow fails t unless got and want are the same row, field by field.
func wantRow(t *testing.T, what string, got, want driver.JobRow) {
	t.Helper()
	type fields struct {
		ID, Topic, Payload, Status, LastError, UniqueKey string
		Attempts, MaxRetries, Priority                   int
		LockVersion                                      int64
		Duplicate                                        bool
	}
	g := fields{got.ID, got.Topic, string(got.Payload), got.Status, got.LastError, got.UniqueKey,
		got.Attempts, got.MaxRetries, got.Priority, got.LockVersion, got.Duplicate}
	w := fields{want.ID, want.Topic, string(want.Payload), want.Status, want.LastError, want.UniqueKey,
		want.Attempts, want.MaxRetries, want.Priority, want.LockVersion, want.Duplicate}
	if g != w {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
	wantTime(t, what+": RunAt", got.RunAt, want.RunAt)
	wantTime(t, what+": LockedUntil", got.LockedUntil, want.LockedUntil)
	wantTime(t, what+": Created", got.Created, want.Created)
	wantTime(t, what+": Updated", got.Updated, want.Updated)
}
