package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"maragu.dev/goqite"
	gqjobs "maragu.dev/goqite/jobs"
)

// goqiteSchema creates the table and index that goqite's SQLite queries
// expect (goqite ships the schema as a file for users to apply).
const goqiteSchema = `
CREATE TABLE IF NOT EXISTS goqite (
	id       TEXT PRIMARY KEY DEFAULT ('m_' || lower(hex(randomblob(16)))),
	created  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')),
	updated  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')),
	queue    TEXT NOT NULL,
	body     BLOB NOT NULL,
	timeout  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')),
	received INTEGER NOT NULL DEFAULT 0,
	priority INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TRIGGER IF NOT EXISTS goqite_updated_timestamp AFTER UPDATE ON goqite BEGIN
	UPDATE goqite SET updated = strftime('%Y-%m-%dT%H:%M:%fZ') WHERE id = old.id;
END;
CREATE INDEX IF NOT EXISTS goqite_queue_priority_created_idx ON goqite (queue, priority DESC, created);`

// goqitePoll is the poll interval of goqite's job runner.
const goqitePoll = 10 * time.Millisecond

// goqiteQueue is goqite v0.4.0 on SQLite with its job runner: `workers`
// concurrent jobs, polling every 10 ms.
//
// The runner gives every job a goroutine that extends its timeout; it sleeps
// 4 s (4/5 of the default 5 s extension) before it notices that its job has
// ended, so those goroutines outlive stop by up to 4 s. They are goqite's,
// touch nothing once their job ended, and exit by themselves.
type goqiteQueue struct {
	db     *sql.DB
	q      *goqite.Queue
	cancel context.CancelFunc
	done   chan struct{}
}

// openGoqite opens goqite on the SQLite file of t, creating its table if
// needed.
func openGoqite(ctx context.Context, t target) (queue, error) {
	db, err := openSQLite(t.dir, "goqite.db")
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, goqiteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create goqite's table: %w", err)
	}
	return &goqiteQueue{db: db, q: goqite.New(goqite.NewOpts{DB: db, Name: "bench"})}, nil
}

func (g *goqiteQueue) enqueue(ctx context.Context) error {
	_, err := gqjobs.Create(ctx, g.q, topic, goqite.Message{Body: payload})
	return err
}

// enqueueBatch sends n messages in one transaction: goqite has no batch
// API.
func (g *goqiteQueue) enqueueBatch(ctx context.Context, n int) error {
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	for range n {
		if _, err := gqjobs.CreateTx(ctx, tx, g.q, topic, goqite.Message{Body: payload}); err != nil {
			return errors.Join(err, tx.Rollback())
		}
	}
	return tx.Commit()
}

func (g *goqiteQueue) start(ctx context.Context, run func()) error {
	runner := gqjobs.NewRunner(gqjobs.NewRunnerOpts{Limit: workers, PollInterval: goqitePoll, Queue: g.q})
	runner.Register(topic, func(context.Context, []byte) error {
		run()
		return nil
	})
	runCtx, cancel := context.WithCancel(context.Background())
	g.cancel, g.done = cancel, make(chan struct{})
	go func() {
		defer close(g.done)
		runner.Start(runCtx)
	}()
	return nil
}

// stop cancels the runner and waits until it has returned, which it does
// once its running jobs have finished.
func (g *goqiteQueue) stop(ctx context.Context) error {
	if g.cancel == nil {
		return nil
	}
	g.cancel()
	<-g.done
	g.cancel = nil
	return nil
}

// completeAll is not applicable: goqite deletes a message once its job has
// run, so its table never holds completed jobs.
func (g *goqiteQueue) completeAll(ctx context.Context) error { return errNotApplicable }

func (g *goqiteQueue) close() error {
	err := g.stop(context.Background())
	return errors.Join(err, g.db.Close())
}
