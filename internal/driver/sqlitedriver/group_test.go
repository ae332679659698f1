package sqlitedriver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/testpoll"
)

// groupWriter is a write function for insertGroup that records the groups
// it is given, holds the first until its gate opens, and fails any group
// holding the job "bad".
type groupWriter struct {
	gate   chan struct{}
	mu     sync.Mutex
	groups [][]string
}

func (w *groupWriter) write(_ context.Context, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	ids := make([]string, len(jobs))
	rows := make([]driver.JobRow, len(jobs))
	for i, j := range jobs {
		ids[i], rows[i] = j.ID, j.PendingRow()
	}
	w.mu.Lock()
	w.groups = append(w.groups, ids)
	first := len(w.groups) == 1
	w.mu.Unlock()
	if first {
		<-w.gate
	}
	if slices.Contains(ids, "bad") {
		return nil, errors.New("rejected")
	}
	return rows, nil
}

// TestInsertsQueuedDuringAWriteShareTheNext: while a first insert is being
// written, the inserts that arrive wait and are then written together, in
// one group; each caller gets its own row; and when a group fails, its
// jobs are written again alone, so only the failing job's caller sees the
// error.
func TestInsertsQueuedDuringAWriteShareTheNext(t *testing.T) {
	var g insertGroup
	w := &groupWriter{gate: make(chan struct{})}
	type result struct {
		id  string
		row driver.JobRow
		err error
	}
	results := make(chan result, 5)
	insert := func(id string) {
		row, err := g.insert(t.Context(), driver.InsertParams{ID: id, Topic: "t", Now: time.Unix(1, 0)}, w.write)
		results <- result{id, row, err}
	}
	go insert("first")
	testpoll.Until(t, 5*time.Second, "the first insert to be written", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.groups) == 1
	})
	for _, id := range []string{"a", "bad", "b"} {
		go insert(id)
	}
	testpoll.Until(t, 5*time.Second, "three inserts to queue", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.queue) == 3
	})
	close(w.gate)

	for range 4 {
		r := <-results
		switch {
		case r.id == "bad" && r.err == nil:
			t.Errorf("the failing job's insert returned no error")
		case r.id != "bad" && (r.err != nil || r.row.ID != r.id):
			t.Errorf("insert of %s returned %q, %v", r.id, r.row.ID, r.err)
		}
	}
	// The queued inserts arrive in any order: compare each group sorted,
	// and the singles written after the failed group as a set.
	var got []string
	for _, group := range w.groups {
		got = append(got, fmt.Sprint(slices.Sorted(slices.Values(group))))
	}
	if len(got) != 5 || got[0] != "[first]" || got[1] != "[a b bad]" ||
		!slices.Equal(slices.Sorted(slices.Values(got[2:])), []string{"[a]", "[b]", "[bad]"}) {
		t.Fatalf("groups written %v, want [first], then [a b bad] together, then each of them alone", w.groups)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.writing || len(g.queue) != 0 {
		t.Fatalf("after the last write: writing %v, %d queued", g.writing, len(g.queue))
	}
}
