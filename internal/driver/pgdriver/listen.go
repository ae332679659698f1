package pgdriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/outage"
)

// Timing of the listener. A connection that stayed up for healthyAfter
// resets the reconnect backoff; idle connections are pinged every
// pingEvery, so one that died silently is noticed.
const (
	minBackoff   = 100 * time.Millisecond
	maxBackoff   = 5 * time.Second
	healthyAfter = maxBackoff
	pingEvery    = 30 * time.Second
	connectLimit = 10 * time.Second
	closeLimit   = time.Second
)

// Listen holds one connection of its own (outside the pool) that listens on
// Channel, and calls p.OnNotify for every notification. It also calls it
// each time it starts listening — at first and after every reconnect —
// because notifications sent while nobody listened are lost. When the
// connection fails, Listen reconnects with a growing, jittered backoff.
// It returns nil once ctx is done.
//
// p.OnNotify runs on Listen's goroutine and should return quickly (signal a
// channel, say). Notifications carry no payload: each only says "look for
// runnable jobs".
func (d *Driver) Listen(ctx context.Context, p driver.ListenParams) error {
	l := &listener{
		cfg:      d.pool.Config().ConnConfig,
		onNotify: p.OnNotify,
		outage: outage.New(d.logger, slog.LevelWarn,
			"jobs: no connection for PostgreSQL notifications; reconnecting",
			"jobs: listening for PostgreSQL notifications again"),
	}
	var backoff time.Duration
	for {
		started := time.Now()
		err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		l.outage.Failed(err)
		if time.Since(started) >= healthyAfter {
			backoff = 0
		}
		if !clock.Sleep(ctx, jitter(backoff)) {
			return nil
		}
		backoff = min(max(2*backoff, minBackoff), maxBackoff)
	}
}

// listener is the state of one Listen call.
type listener struct {
	cfg      *pgx.ConnConfig
	onNotify func()
	// outage logs the loss of the connection once, and its return once.
	outage *outage.Log
}

// session connects, listens and waits for notifications until the
// connection fails or ctx is done; it returns why it stopped.
func (l *listener) session(ctx context.Context) error {
	connectCtx, cancel := context.WithTimeout(ctx, connectLimit)
	conn, err := pgx.ConnectConfig(connectCtx, l.cfg.Copy())
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), closeLimit)
		defer cancel()
		_ = conn.Close(closeCtx) // the session already ended; nothing to do about a failed goodbye
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		return fmt.Errorf("listen on %s: %w", Channel, err)
	}
	l.outage.Recovered()
	l.onNotify()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, pingEvery)
		_, err := conn.WaitForNotification(waitCtx)
		idle := errors.Is(waitCtx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case err == nil:
			l.onNotify()
		case ctx.Err() != nil:
			return ctx.Err()
		case idle:
			if err := l.ping(ctx, conn); err != nil {
				return err
			}
		default:
			return fmt.Errorf("wait for notifications: %w", err)
		}
	}
}

// ping checks that an idle connection still reaches the server.
func (l *listener) ping(ctx context.Context, conn *pgx.Conn) error {
	pingCtx, cancel := context.WithTimeout(ctx, connectLimit)
	defer cancel()
	if err := conn.Ping(pingCtx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// jitter spreads reconnects of many processes: a random duration in
// [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}
