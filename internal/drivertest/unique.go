package drivertest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// keyed is topicJob(id, topic, t0) with a unique key.
func keyed(id, topic, key string) driver.InsertParams {
	p := topicJob(id, topic, t0)
	p.UniqueKey = key
	return p
}

// wantDuplicate fails t unless row is the row of the stored job holder,
// marked Duplicate.
func wantDuplicate(t *testing.T, d driver.Driver, what string, row driver.JobRow, holder string) {
	t.Helper()
	want := get(t, d, holder)
	want.Duplicate = true
	wantRow(t, what, row, want)
}

// wantStats fails t unless Stats counts want.
func wantStats(t *testing.T, d driver.Driver, want driver.Stats) {
	t.Helper()
	if st, err := d.Stats(t.Context()); err != nil || st != want {
		t.Fatalf("Stats = %+v, %v; want %+v", st, err, want)
	}
}

// testUniqueKeyOfJobsInFlight: while a pending or then processing job of a
// topic holds a unique key, an insert of another job with that topic and
// key stores nothing and returns the holder, marked Duplicate; a repeated
// insert of the holder's own id returns it as stored, not as a duplicate.
func testUniqueKeyOfJobsInFlight(t *testing.T, s *suite) {
	d := s.open(t)
	first := insert(t, d, keyed("first", "t", "K"))[0]
	want := keyed("first", "t", "K").PendingRow()
	wantRow(t, "inserted row", first, want)
	wantRow(t, "stored row", get(t, d, "first"), want)

	wantDuplicate(t, d, "insert of a pending job's key", insert(t, d, keyed("second", "t", "K"))[0], "first")
	_, err := d.Get(t.Context(), driver.GetParams{ID: "second"})
	wantErr(t, "Get of a duplicate", err, driver.ErrNotFound)

	wantIDs(t, "claim", idsOf(claim(t, d, claimOf(t0, t0.Add(lock), 10, "t"))), []string{"first"})
	wantDuplicate(t, d, "insert of a processing job's key", insert(t, d, keyed("third", "t", "K"))[0], "first")
	wantRow(t, "repeated insert of the holder", insert(t, d, keyed("first", "t", "K"))[0], get(t, d, "first"))
	wantStats(t, d, driver.Stats{Processing: 1})
}

// testUniqueKeyFreedWhenDone: once the job holding a key is completed,
// failed or cancelled, the key is free: a job with it is inserted, and
// holds it in turn.
func testUniqueKeyFreedWhenDone(t *testing.T, s *suite) {
	d := s.open(t)
	for _, status := range []string{driver.StatusCompleted, driver.StatusFailed, driver.StatusCancelled} {
		insert(t, d, keyed(status, status, "K"))
		if status == driver.StatusCancelled {
			cancel(t, d, status, far)
		} else {
			moveTo(t, d, status, status)
		}
		again := status + "-again"
		row := insert(t, d, keyed(again, status, "K"))[0]
		wantRow(t, "insert of the key of a "+status+" job", row, keyed(again, status, "K").PendingRow())
		wantDuplicate(t, d, "insert of the key after that", insert(t, d, keyed(status+"-third", status, "K"))[0], again)
	}
}

// testUniqueKeyTwiceInOneBatch: of jobs of one batch with the same topic
// and key, the first is inserted and the others return it, marked
// Duplicate; the others of the batch are inserted, all in the order of the
// batch.
func testUniqueKeyTwiceInOneBatch(t *testing.T, s *suite) {
	d := s.open(t)
	rows := insert(t, d, keyed("a", "t", "K"), keyed("b", "t", "K"), keyed("c", "t", "L"), topicJob("d", "t", t0),
		keyed("e", "t", "K"), keyed("f", "t", ""))
	wantIDs(t, "Insert rows", idsOf(rows), []string{"a", "a", "c", "d", "a", "f"})
	for i, r := range rows {
		if wantDup := i == 1 || i == 4; r.Duplicate != wantDup {
			t.Fatalf("row %d (%s): Duplicate %v, want %v", i, r.ID, r.Duplicate, wantDup)
		}
	}
	wantDuplicate(t, d, "second of a batch", rows[1], "a")
	wantStats(t, d, driver.Stats{Pending: 4})
}

// testUniqueKeyPerTopic: a key is unique within a topic: jobs of other
// topics with the same key, and jobs without a key, are all inserted.
func testUniqueKeyPerTopic(t *testing.T, s *suite) {
	d := s.open(t)
	rows := insert(t, d, keyed("x", "x", "K"), keyed("y", "y", "K"), topicJob("n1", "x", t0), topicJob("n2", "x", t0))
	for _, r := range rows {
		if r.Duplicate {
			t.Fatalf("%s inserted as a duplicate", r.ID)
		}
	}
	wantStats(t, d, driver.Stats{Pending: 4})
}

// testUniqueKeyConcurrently: of concurrent inserts of jobs with one topic
// and key, one stores its job and all the others return it, marked
// Duplicate: 20 batches of the same keys, in one order or the reverse,
// inserted concurrently, store one job per key.
func testUniqueKeyConcurrently(t *testing.T, s *suite) {
	d := s.open(t)
	const inserters, keys = 20, 10
	var (
		wg   sync.WaitGroup
		rows = make([][]driver.JobRow, inserters)
		errs = make([]error, inserters)
	)
	for i := range inserters {
		wg.Go(func() {
			batch := make([]driver.InsertParams, keys)
			for k := range batch {
				batch[k] = keyed(fmt.Sprintf("j%d-%d", i, k), "t", fmt.Sprint("K", k))
			}
			if i%2 == 1 {
				slices.Reverse(batch)
			}
			rows[i], errs[i] = d.Insert(t.Context(), batch)
		})
	}
	wg.Wait()
	holders := make(map[string]map[string]bool)
	for i := range inserters {
		if errs[i] != nil {
			t.Fatalf("concurrent Insert: %v", errs[i])
		}
		for _, r := range rows[i] {
			if holders[r.UniqueKey] == nil {
				holders[r.UniqueKey] = make(map[string]bool)
			}
			holders[r.UniqueKey][r.ID] = true
			if !r.Duplicate {
				wantRow(t, "inserted row", r, keyed(r.ID, "t", r.UniqueKey).PendingRow())
			}
		}
	}
	for key, ids := range holders {
		if len(ids) != 1 {
			t.Fatalf("concurrent inserts of key %s returned the jobs %v, want one", key, ids)
		}
	}
	wantStats(t, d, driver.Stats{Pending: keys})
}

// testRequeueOfAHeldKey: a failed or cancelled job whose key another job
// took since is not requeued while that job holds it (ErrRejected), and is
// once it is done.
func testRequeueOfAHeldKey(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, keyed("old", "old", "K"))
	failed := moveTo(t, d, "old", driver.StatusFailed)
	insert(t, d, keyed("new", "old", "K"))
	_, err := d.Requeue(t.Context(), driver.RequeueParams{ID: "old", RunAt: far, Now: far})
	wantErr(t, "Requeue of a job whose key is held", err, driver.ErrRejected)
	wantRow(t, "job after a refused requeue", get(t, d, "old"), failed)

	cancel(t, d, "new", far)
	row, err := d.Requeue(t.Context(), driver.RequeueParams{ID: "old", RunAt: far, Now: far})
	if err != nil {
		t.Fatalf("Requeue once the key is free: %v", err)
	}
	wantDuplicate(t, d, "insert of the requeued job's key", insert(t, d, keyed("newer", "old", "K"))[0], row.ID)
}
