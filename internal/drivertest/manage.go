package drivertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// listFixture stores six jobs, each with its id as topic, created a second
// apart from a (oldest) to f (newest), in these statuses:
//
//	a: pending   b: processing   c: pending   d: completed   e: failed   f: pending
func listFixture(t *testing.T, d driver.Driver) {
	t.Helper()
	statuses := map[string]string{
		"a": driver.StatusPending, "b": driver.StatusProcessing, "c": driver.StatusPending,
		"d": driver.StatusCompleted, "e": driver.StatusFailed, "f": driver.StatusPending,
	}
	for i, id := range []string{"a", "b", "c", "d", "e", "f"} {
		p := job(id, t0)
		p.Now = t0.Add(time.Duration(i) * time.Second)
		insert(t, d, p)
		moveTo(t, d, id, statuses[id])
	}
}

// list calls List and fails t on error.
func list(t *testing.T, d driver.Driver, p driver.ListParams) ([]string, int64) {
	t.Helper()
	rows, total, err := d.List(t.Context(), p)
	if err != nil {
		t.Fatalf("List(%+v): %v", p, err)
	}
	return idsOf(rows), total
}

// testList: List filters by topic and status, newest first, ties broken by
// the id, newest (largest) first.
func testList(t *testing.T, s *suite) {
	d := s.open(t)
	listFixture(t, d)
	tie := job("g", t0)
	tie.Topic, tie.Now = "f", t0.Add(5*time.Second) // same topic and created as f
	insert(t, d, tie)

	cases := []struct {
		name  string
		p     driver.ListParams
		want  []string
		total int64
	}{
		{"all", driver.ListParams{Limit: 100}, []string{"g", "f", "e", "d", "c", "b", "a"}, 7},
		{"topic", driver.ListParams{Topic: "f", Limit: 100}, []string{"g", "f"}, 2},
		{"status", driver.ListParams{Status: driver.StatusPending, Limit: 100}, []string{"g", "f", "c", "a"}, 4},
		{"topic and status", driver.ListParams{Topic: "b", Status: driver.StatusProcessing, Limit: 100}, []string{"b"}, 1},
		{"no match", driver.ListParams{Topic: "b", Status: driver.StatusFailed, Limit: 100}, []string{}, 0},
		{"unknown topic", driver.ListParams{Topic: "zzz", Limit: 100}, []string{}, 0},
	}
	for _, c := range cases {
		ids, total := list(t, d, c.p)
		wantIDs(t, "List "+c.name, ids, c.want)
		if total != c.total {
			t.Fatalf("List %s: total %d, want %d", c.name, total, c.total)
		}
	}
	rows, _, err := d.List(t.Context(), driver.ListParams{Topic: "e", Limit: 1})
	if err != nil || len(rows) != 1 {
		t.Fatalf("List of e = %v, %v", rows, err)
	}
	wantRow(t, "listed row vs stored", rows[0], get(t, d, "e"))
}

// testListPages: Limit and Offset page through the newest-first order, and
// the total counts every match whatever the page.
func testListPages(t *testing.T, s *suite) {
	d := s.open(t)
	listFixture(t, d)
	cases := []struct {
		p    driver.ListParams
		want []string
	}{
		{driver.ListParams{Limit: 2}, []string{"f", "e"}},
		{driver.ListParams{Limit: 2, Offset: 2}, []string{"d", "c"}},
		{driver.ListParams{Limit: 2, Offset: 5}, []string{"a"}},
		{driver.ListParams{Limit: 2, Offset: 6}, []string{}},
		{driver.ListParams{Status: driver.StatusPending, Limit: 1, Offset: 1}, []string{"c"}},
	}
	for _, c := range cases {
		ids, total := list(t, d, c.p)
		wantIDs(t, "page", ids, c.want)
		wantTotal := int64(6)
		if c.p.Status == driver.StatusPending {
			wantTotal = 3
		}
		if total != wantTotal {
			t.Fatalf("List(%+v): total %d, want %d", c.p, total, wantTotal)
		}
	}
}

// testListIsOneSnapshot: while jobs are inserted one at a time, every
// listing with room for all of them holds exactly as many jobs as its total
// says: the count and the page read the same jobs.
func testListIsOneSnapshot(t *testing.T, s *suite) {
	d := s.open(t)
	const jobs = 300
	var (
		wg        sync.WaitGroup
		stop      = make(chan struct{})
		finished  = make(chan struct{})
		insertErr error
	)
	wg.Go(func() {
		defer close(finished)
		for i := range jobs {
			select {
			case <-stop:
				return
			default:
			}
			if _, insertErr = d.Insert(t.Context(), []driver.InsertParams{job(fmt.Sprintf("j%03d", i), t0)}); insertErr != nil {
				return
			}
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for lists := 1; ; lists++ {
		var over bool // the inserts were over before this listing began
		select {
		case <-finished:
			over = true
		default:
		}
		rows, total, err := d.List(t.Context(), driver.ListParams{Limit: jobs + 1})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if int64(len(rows)) != total {
			t.Fatalf("listing %d: %d jobs on a page with room for all, but a total of %d", lists, len(rows), total)
		}
		if over {
			if insertErr != nil {
				t.Fatalf("Insert: %v", insertErr)
			}
			if total != jobs {
				t.Fatalf("listing after the inserts: total %d, want %d", total, jobs)
			}
			return
		}
	}
}

// testStats: Stats counts the jobs of each status, of every priority.
func testStats(t *testing.T, s *suite) {
	d := s.open(t)
	if st, err := d.Stats(t.Context()); err != nil || st != (driver.Stats{}) {
		t.Fatalf("Stats of an empty table = %+v, %v", st, err)
	}
	listFixture(t, d)
	cancel(t, d, "c", far)
	for id, priority := range map[string]int{"high": 3, "low": -2, "high-done": 1} {
		p := job(id, t0)
		p.Priority = priority
		insert(t, d, p)
	}
	moveTo(t, d, "high-done", driver.StatusFailed)
	st, err := d.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if want := (driver.Stats{Pending: 4, Processing: 1, Completed: 1, Failed: 2, Cancelled: 1}); st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
}

// testDelete: only pending, failed and cancelled jobs can be deleted; Delete
// returns the job as it was.
func testDelete(t *testing.T, s *suite) {
	d := s.open(t)
	listFixture(t, d)
	cancel(t, d, "c", far)
	for _, id := range []string{"a", "e", "c"} { // pending, failed, cancelled
		before := get(t, d, id)
		deleted, err := d.Delete(t.Context(), driver.DeleteParams{ID: id})
		if err != nil {
			t.Fatalf("Delete(%s): %v", id, err)
		}
		wantRow(t, "row Delete returned", deleted, before)
		_, err = d.Get(t.Context(), driver.GetParams{ID: id})
		wantErr(t, "Get of a deleted job", err, driver.ErrNotFound)
	}
	for _, id := range []string{"b", "d"} { // processing, completed
		before := get(t, d, id)
		_, err := d.Delete(t.Context(), driver.DeleteParams{ID: id})
		wantErr(t, "Delete of a "+before.Status+" job", err, driver.ErrWrongStatus)
		wantRow(t, "job after a refused delete", get(t, d, id), before)
	}
	_, err := d.Delete(t.Context(), driver.DeleteParams{ID: "nope"})
	wantErr(t, "Delete of an unknown job", err, driver.ErrNotFound)
	_, err = d.Delete(t.Context(), driver.DeleteParams{ID: "a"})
	wantErr(t, "Delete of a deleted job", err, driver.ErrNotFound)
}

// testJobs: Jobs reads the jobs of the ids that exist, whatever their
// status, and nothing for unknown ids.
func testJobs(t *testing.T, s *suite) {
	d := s.open(t)
	listFixture(t, d)
	rows, err := d.Jobs(t.Context(), driver.JobsParams{IDs: []string{"f", "nope", "b", "d"}})
	if err != nil {
		t.Fatalf("Jobs: %v", err)
	}
	byID := map[string]driver.JobRow{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	if len(rows) != 3 || len(byID) != 3 {
		t.Fatalf("Jobs returned %v, want the rows of b, d and f", idsOf(rows))
	}
	for _, id := range []string{"b", "d", "f"} {
		wantRow(t, "row of "+id, byID[id], get(t, d, id))
	}
	rows, err = d.Jobs(t.Context(), driver.JobsParams{})
	if err != nil || len(rows) != 0 {
		t.Fatalf("Jobs of no ids = %v, %v; want nothing", idsOf(rows), err)
	}
}

// testRequeue: only failed and cancelled jobs can be requeued; they become
// pending with fresh attempts and no lock, and keep their lock version, so
// old claims stay stale.
func testRequeue(t *testing.T, s *suite) {
	d := s.open(t)
	listFixture(t, d)
	failed := get(t, d, "e")
	runAt, now := t0.Add(time.Hour), t0.Add(2*time.Minute)
	row, err := d.Requeue(t.Context(), driver.RequeueParams{ID: "e", RunAt: runAt, Now: now})
	if err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	want := failed
	want.Status, want.Attempts, want.RunAt, want.Updated = driver.StatusPending, 0, runAt, now
	wantRow(t, "requeued row", row, want)
	wantRow(t, "requeued job", get(t, d, "e"), want)

	claimed := claimJob(t, d, "e", runAt, runAt.Add(lock))
	if claimed.LockVersion <= failed.LockVersion || claimed.Attempts != 1 {
		t.Fatalf("claim after requeue: lock version %d, attempts %d; want above %d, 1",
			claimed.LockVersion, claimed.Attempts, failed.LockVersion)
	}

	for _, id := range []string{"a", "b", "d"} { // pending, processing, completed
		before := get(t, d, id)
		_, err := d.Requeue(t.Context(), driver.RequeueParams{ID: id, RunAt: runAt, Now: now})
		wantErr(t, "Requeue of a "+before.Status+" job", err, driver.ErrWrongStatus)
		wantRow(t, "job after a refused requeue", get(t, d, id), before)
	}
	_, err = d.Requeue(t.Context(), driver.RequeueParams{ID: "nope", RunAt: runAt, Now: now})
	wantErr(t, "Requeue of an unknown job", err, driver.ErrNotFound)

	// A job cancelled while it ran is requeued as a failed one is.
	running := get(t, d, "b")
	cancel(t, d, "b", now)
	row, err = d.Requeue(t.Context(), driver.RequeueParams{ID: "b", RunAt: runAt, Now: now})
	if err != nil {
		t.Fatalf("Requeue of a cancelled job: %v", err)
	}
	want = running
	want.Status, want.Attempts, want.RunAt, want.LockedUntil, want.Updated = driver.StatusPending, 0, runAt, time.Time{}, now
	wantRow(t, "requeued cancelled row", row, want)
	wantRow(t, "requeued cancelled job", get(t, d, "b"), want)
}

// testNextRunAt: NextRunAt is the earliest run_at of pending jobs of the
// topics, or zero.
func testNextRunAt(t *testing.T, s *suite) {
	d := s.open(t)
	wantTime(t, "NextRunAt of an empty table", nextRunAt(t, d, "a"), time.Time{})
	insert(t, d,
		topicJob("a-late", "a", t0.Add(5*time.Minute)),
		topicJob("a-soon", "a", t0.Add(2*time.Minute)),
		topicJob("b-sooner", "b", t0.Add(time.Minute)),
		topicJob("a-running", "a", t0.Add(-time.Minute)),
	)
	claim(t, d, claimOf(t0, t0.Add(lock), 1, "a"))
	wantTime(t, "NextRunAt(a)", nextRunAt(t, d, "a"), t0.Add(2*time.Minute))
	wantTime(t, "NextRunAt(a, b)", nextRunAt(t, d, "a", "b"), t0.Add(time.Minute))
	wantTime(t, "NextRunAt(c)", nextRunAt(t, d, "c"), time.Time{})
	wantTime(t, "NextRunAt()", nextRunAt(t, d), time.Time{})
}

// testDeleteCompleted: retention deletes only completed jobs finished before
// the cut-off, at most limit per call.
func testDeleteCompleted(t *testing.T, s *suite) {
	d := s.open(t)
	for _, id := range []string{"c1", "c2", "c3", "f", "p"} {
		insert(t, d, job(id, t0))
	}
	for _, id := range []string{"c1", "c2", "c3"} {
		moveTo(t, d, id, driver.StatusCompleted) // updated at far
	}
	moveTo(t, d, "f", driver.StatusFailed)

	n, err := d.DeleteCompleted(t.Context(), driver.DeleteCompletedParams{Before: far, Limit: 10})
	if err != nil || n != 0 {
		t.Fatalf("DeleteCompleted before their completion: %d, %v", n, err)
	}
	after := far.Add(time.Second)
	n, err = d.DeleteCompleted(t.Context(), driver.DeleteCompletedParams{Before: after, Limit: 2})
	if err != nil || n != 2 {
		t.Fatalf("DeleteCompleted with limit 2: %d, %v", n, err)
	}
	n, err = d.DeleteCompleted(t.Context(), driver.DeleteCompletedParams{Before: after, Limit: 2})
	if err != nil || n != 1 {
		t.Fatalf("DeleteCompleted of the rest: %d, %v", n, err)
	}
	for _, id := range []string{"f", "p"} {
		get(t, d, id) // failed and pending jobs stay
	}
	for _, id := range []string{"c1", "c2", "c3"} {
		_, err := d.Get(t.Context(), driver.GetParams{ID: id})
		wantErr(t, "Get of a deleted completed job", err, driver.ErrNotFound)
	}
}
