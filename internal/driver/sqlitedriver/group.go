package sqlitedriver

import (
	"context"
	"sync"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// insertGroup lets concurrent single inserts share a writer turn (a group
// commit). SQLite has one writer: while one caller's insert waits for it
// and is written, the inserts that arrive queue here, and the first of them
// then writes them all at once — in one transaction, one commit — for
// every caller of the group. An insert that arrives when none is written
// is written at once, as alone. No goroutine is started: the callers take
// turns writing.
type insertGroup struct {
	mu sync.Mutex
	// queue holds the inserts that wait for the next write.
	queue []*groupedInsert
	// writing is set while a caller writes a group.
	writing bool
}

// groupedInsert is one caller's insert in a group.
type groupedInsert struct {
	job driver.InsertParams
	row driver.JobRow
	err error
	// done is closed when another caller wrote the insert: row and err are
	// set. lead is closed when this caller is to write the next group, its
	// own insert included.
	done, lead chan struct{}
}

// insert stores job through write, alone or with the inserts that queued
// while another group was written, and returns its row as write returned
// it. A group is written with the context of the caller that writes it,
// without its cancellation: the other callers' jobs do not fail with it.
// When a group fails, each of its jobs is written again alone, so that
// every caller gets its own job's error.
func (g *insertGroup) insert(ctx context.Context, job driver.InsertParams,
	write func(context.Context, []driver.InsertParams) ([]driver.JobRow, error)) (driver.JobRow, error) {
	in := &groupedInsert{job: job, done: make(chan struct{}), lead: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, in)
	if g.writing {
		g.mu.Unlock()
		select {
		case <-in.done:
			return in.row, in.err
		case <-in.lead:
		}
		g.mu.Lock()
	}
	g.writing = true
	group := g.queue
	g.queue = nil
	g.mu.Unlock()

	g.write(ctx, group, write)

	g.mu.Lock()
	if len(g.queue) > 0 {
		close(g.queue[0].lead)
	} else {
		g.writing = false
	}
	g.mu.Unlock()
	for _, other := range group {
		if other != in {
			close(other.done)
		}
	}
	return in.row, in.err
}

// write writes a group and sets each insert's row and error.
func (g *insertGroup) write(ctx context.Context, group []*groupedInsert,
	write func(context.Context, []driver.InsertParams) ([]driver.JobRow, error)) {
	if len(group) == 1 {
		group[0].row, group[0].err = one(write(ctx, []driver.InsertParams{group[0].job}))
		return
	}
	ctx = context.WithoutCancel(ctx)
	jobs := make([]driver.InsertParams, len(group))
	for i, in := range group {
		jobs[i] = in.job
	}
	rows, err := write(ctx, jobs)
	if err == nil {
		for i, in := range group {
			in.row = rows[i]
		}
		return
	}
	for _, in := range group {
		in.row, in.err = one(write(ctx, []driver.InsertParams{in.job}))
	}
}

// one is the single row of a write of one job.
func one(rows []driver.JobRow, err error) (driver.JobRow, error) {
	if err != nil {
		return driver.JobRow{}, err
	}
	return rows[0], nil
}
