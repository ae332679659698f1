package pgdriver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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
	pool   *pgxpool.Pool
	logger *slog.Logger

	mu      sync.Mutex
	sending bool // a goroutine is sending
	again   bool // an announcement came in while it was sending
	done    sync.WaitGroup

	// failing is set from a failed notification to the next one sent, so
	// an outage is logged once, not once per notification; only the
	// sending goroutine uses it.
	failing bool
}

// announce sends a notification soon, without waiting for it.
func (a *announcer) announce() {
	a.mu.Lock()
	defer a.mu.Unlock()
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
		ctx, cancel := context.WithTimeout(context.Background(), announceLimit)
		_, err := a.pool.Exec(ctx, notifySQL)
		cancel()
		switch {
		case err != nil && !a.failing:
			a.failing = true
			a.logger.Warn("jobs: cannot notify other processes of new jobs; they will find them when they poll",
				"error", err)
		case err == nil && a.failing:
			a.failing = false
			a.logger.Info("jobs: notifying other processes of new jobs again")
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
