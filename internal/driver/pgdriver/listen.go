package pgdriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
// the channels p has callbacks for: Channel (OnNotify), CancelChannel
// (OnCancel) and ChangesChannel (OnChanges). It calls p.OnNotify for every
// notification of Channel, and also each time it starts listening — at
// first and after every reconnect — because notifications sent while
// nobody listened are lost. It calls p.OnCancel with the claim each
// notification of CancelChannel carries ("id lock_version"); a cancel sent
// while nobody listened is lost, and is found by Lost. It calls p.OnChanges
// with the changes of each notification of ChangesChannel. When the
// connection fails, Listen reconnects with a growing, jittered backoff. It
// returns nil once ctx is done.
//
// The callbacks run on Listen's goroutine and should return quickly (signal
// a channel, say). Notifications of Channel carry no payload: each only
// says "look for runnable jobs".
//
// Through a pooler in transaction mode, where LISTEN is accepted but the
// notifications go to whichever client holds the server connection when
// they come, Listen logs one warning and waits for ctx without listening.
func (d *Driver) Listen(ctx context.Context, p driver.ListenParams) error {
	if d.transactionPooled {
		d.logger.Warn(poolerWarning)
		<-ctx.Done()
		return nil
	}
	l := &listener{
		cfg:    d.pool.Config().ConnConfig,
		params: p,
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

// poolerWarning tells why Listen does not listen through a pooler in
// transaction mode, what is lost, and how to get it back.
const poolerWarning = "jobs: PostgreSQL notifications do not arrive through a connection pooler in transaction mode " +
	"(such as PgBouncer with pool_mode = transaction); finding other processes' jobs and cancels by polling every " +
	"PollInterval, and realtime subscribers miss the changes other processes make. " +
	"For wake-ups, connect through session pooling or directly"

// listener is the state of one Listen call.
type listener struct {
	cfg    *pgx.ConnConfig
	params driver.ListenParams
	// outage logs the loss of the connection once, and its return once.
	outage *outage.Log
}

// listenSQL returns the LISTEN statements of the channels l has callbacks
// for, to send in one round trip. The names are constants, never input.
func (l *listener) listenSQL() string {
	var stmts []string
	if l.params.OnNotify != nil {
		stmts = append(stmts, "LISTEN "+Channel)
	}
	if l.params.OnCancel != nil {
		stmts = append(stmts, "LISTEN "+CancelChannel)
	}
	if l.params.OnChanges != nil {
		stmts = append(stmts, "LISTEN "+ChangesChannel)
	}
	return strings.Join(stmts, "; ")
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
	if _, err := conn.Exec(ctx, l.listenSQL()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	l.outage.Recovered()
	if l.params.OnNotify != nil {
		l.params.OnNotify()
	}
	for {
		waitCtx, cancel := context.WithTimeout(ctx, pingEvery)
		n, err := conn.WaitForNotification(waitCtx)
		idle := errors.Is(waitCtx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case err == nil:
			l.deliver(n)
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

// deliver calls the callback of n's channel. A payload that does not
// parse (sent by something else) is ignored.
func (l *listener) deliver(n *pgconn.Notification) {
	switch n.Channel {
	case Channel:
		l.params.OnNotify()
	case CancelChannel:
		id, version, ok := strings.Cut(n.Payload, " ")
		lockVersion, err := strconv.ParseInt(version, 10, 64)
		if ok && err == nil {
			l.params.OnCancel(driver.Claim{ID: id, LockVersion: lockVersion})
		}
	case ChangesChannel:
		if c, ok := decodeChanges(n.Payload); ok {
			l.params.OnChanges(c)
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
