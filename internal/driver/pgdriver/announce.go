package pgdriver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pocketbase-jobs/jobs/internal/outage"
)

// notifySQL tells every listener that jobs may be runnable.
const notifySQL = `SELECT pg_notify('` + Channel + `', '')`

// announceLimit bounds one notification's round trip.
const announceLimit = 5 * time.Second

// announcer sends the notification of runnable jobs after the transaction
// that made them runnable has committed, from a transaction of its own.
// A NOTIFY inside the inserting transaction would make its commit take
// PostgreSQL's notification queue lock, which serialises the commits of all
// notifying transactions and keeps them out of group commit. Announcements
// made while one is being sent collapse into one more, so a burst of
// enqueues costs a few notifications, not one each.
type announcer struct {
	pool *pgxpool.Pool
	// ctx ends when the driver closes, and with it a notification on its
	// way; cancel ends it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	sending bool // a goroutine is sending
	again   bool // an announcement came in while it was sending
	done    sync.WaitGroup

	// outage logs an outage of notifications once each way, not once per
	// notification; PublishChanges reports to it too.
	outage *outage.Log
}

// newAnnouncer returns an announcer that notifies through pool.
func newAnnouncer(pool *pgxpool.Pool, logger *slog.Logger) *announcer {
	ctx, cancel := context.WithCancel(context.Background())
	return &announcer{
		pool:   pool,
		ctx:    ctx,
		cancel: cancel,
		outage: outage.New(logger, slog.LevelWarn,
			"jobs: cannot notify other processes; they find new jobs when they poll, and their realtime subscribers miss job changes meanwhile",
			"jobs: notifying other processes again"),
	}
}

// announce sends a notification soon, without waiting for it; once the
// announcer is closed, it does nothing.
func (a *announcer) announce() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx.Err() != nil {
		return
	}
	if a.sending {
		a.again = true
		return
	}
	a.sending = true
	a.done.Add(1)
	go a.send()
}

// send notifies until no announcement is left, then returns. A failed
// notification is not retried (listeners still poll); the first of an
// outage is logged.
func (a *announcer) send() {
	defer a.done.Done()
	for {
		ctx, cancel := context.WithTimeout(a.ctx, announceLimit)
		_, err := a.pool.Exec(ctx, notifySQL)
		cancel()
		switch {
		case err == nil:
			a.outage.Recovered()
		case a.ctx.Err() == nil:
			a.outage.Failed(err)
		}
		a.mu.Lock()
		if !a.again {
			a.sending = false
			a.mu.Unlock()
			return
		}
		a.again = false
		a.mu.Unlock()
	}
}

// wait returns once no notification is being sent.
func (a *announcer) wait() {
	a.done.Wait()
}

// close cancels a notification on its way, waits for it to end, and makes
// later announcements do nothing. Listeners find the jobs when they poll.
func (a *announcer) close() {
	a.mu.Lock()
	a.cancel()
	a.mu.Unlock()
	a.done.Wait()
}
