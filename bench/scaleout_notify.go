package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// The plugin's notification channels on PostgreSQL (its pgdriver package,
// internal to the plugin's module, names them).
const (
	// wakeChannel announces runnable jobs: one notification per enqueue
	// burst, without payload.
	wakeChannel = "pb_jobs"
	// changesChannel carries each process's job changes for realtime
	// subscribers: at most one notification per process per 200 ms.
	changesChannel = "pb_jobs_changes"
)

// notificationCounts is what one listener of both channels received.
type notificationCounts struct {
	wakeups, changes int
	// changeBytes sums the payloads of the changes notifications.
	changeBytes int
}

// minus returns c less an earlier snapshot.
func (c notificationCounts) minus(earlier notificationCounts) notificationCounts {
	return notificationCounts{c.wakeups - earlier.wakeups, c.changes - earlier.changes, c.changeBytes - earlier.changeBytes}
}

// notificationWatch listens on the plugin's channels like one more process
// would, and counts what it gets, on a goroutine of its own until stopped.
// Every listening process gets the same notifications.
type notificationWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	counts notificationCounts
}

// watchNotifications connects to the database of dsn and listens on the
// plugin's channels.
func watchNotifications(ctx context.Context, dsn string) (*notificationWatch, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect the notification watch: %w", err)
	}
	for _, ch := range []string{wakeChannel, changesChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("listen on %s: %w", ch, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &notificationWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer conn.Close(context.Background())
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				return // stopped, or the connection is gone: the counts so far stand
			}
			w.mu.Lock()
			switch n.Channel {
			case wakeChannel:
				w.counts.wakeups++
			case changesChannel:
				w.counts.changes++
				w.counts.changeBytes += len(n.Payload)
			}
			w.mu.Unlock()
		}
	}()
	return w, nil
}

// snapshot returns the counts so far.
func (w *notificationWatch) snapshot() notificationCounts {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts
}

// stop ends the listening and returns the counts; it may be called again.
func (w *notificationWatch) stop() notificationCounts {
	w.cancel()
	<-w.done
	return w.snapshot()
}
