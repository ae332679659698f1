package pgdriver_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
	"github.com/pocketbase-jobs/jobs/internal/testpoll"
)

// TestWorksThroughTransactionPooling: through a PgBouncer in transaction
// mode, with a DSN that says nothing about it, jobs are inserted one by one
// and several at once, claimed and finished while another client takes
// the server connection the driver used last, every other time: no
// statement depends on a server connection the next one may not get.
func TestWorksThroughTransactionPooling(t *testing.T) {
	pooled, _ := pgtest.Bouncer(t, pgtest.TransactionPooling)
	d := openMigrated(t, pooled)
	other, err := pgx.Connect(t.Context(), pooled)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { other.Close(context.Background()) })
	var held pgx.Tx
	// switchServer makes the driver's next statement run on another server
	// connection than its last one, every other call: LIFO pooling gives
	// other the one the driver released last.
	switchServer := func() {
		t.Helper()
		if held != nil {
			if err := held.Commit(t.Context()); err != nil {
				t.Fatalf("let the server connection go: %v", err)
			}
			held = nil
			return
		}
		if held, err = other.Begin(t.Context()); err != nil {
			t.Fatalf("begin: %v", err)
		}
		if _, err := held.Exec(t.Context(), `SELECT 1`); err != nil {
			t.Fatalf("hold a server connection: %v", err)
		}
	}
	now := time.Now()
	for i := range 3 {
		switchServer()
		id := fmt.Sprintf("single-%d", i)
		if _, err := d.Insert(t.Context(), []driver.InsertParams{{ID: id, Topic: "t", Payload: []byte(`1`), RunAt: now, Now: now}}); err != nil {
			t.Fatalf("Insert %s: %v", id, err)
		}
	}
	many := []driver.InsertParams{
		{ID: "many-0", Topic: "t", Payload: []byte(`1`), RunAt: now, Now: now},
		{ID: "many-1", Topic: "t", Payload: []byte(`1`), RunAt: now, Now: now},
	}
	switchServer()
	if _, err := d.Insert(t.Context(), many); err != nil {
		t.Fatalf("Insert of two jobs: %v", err)
	}
	lock := driver.ClaimTopic{Topic: "t", Limit: 10, LockedUntil: now.Add(time.Minute)}
	var outcomes []driver.Outcome
	for range 3 {
		switchServer()
		rows, err := d.Claim(t.Context(), driver.ClaimParams{Topics: []driver.ClaimTopic{lock}, Limit: 2, Now: now})
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		for _, r := range rows {
			outcomes = append(outcomes, driver.Outcome{ID: r.ID, LockVersion: r.LockVersion, Status: "completed"})
		}
	}
	if len(outcomes) != 5 {
		t.Fatalf("claimed %d jobs, want 5", len(outcomes))
	}
	switchServer()
	n, err := d.Finish(t.Context(), driver.FinishParams{Outcomes: outcomes, Now: now})
	if err != nil || n != 5 {
		t.Fatalf("Finish = %d, %v; want 5 written", n, err)
	}
}

// TestListenWorksThroughSessionPooling: through a PgBouncer in session mode
// the listener keeps its server connection, and an insert through another
// driver wakes it.
func TestListenWorksThroughSessionPooling(t *testing.T) {
	pooled, _ := pgtest.Bouncer(t, pgtest.SessionPooling)
	var logs syncBuffer
	listener := openMigrated(t, pooled, pgdriver.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	other := open(t, pooled)
	notified := listening(t, listener)
	awaitNotify(t, notified, "when listening starts")
	now := time.Now()
	for _, id := range []string{"a", "b"} {
		if _, err := other.Insert(t.Context(), []driver.InsertParams{{ID: id, Topic: "t", Payload: []byte(`1`), RunAt: now, Now: now}}); err != nil {
			t.Fatalf("Insert: %v", err)
		}
		awaitNotify(t, notified, "after an insert through another driver")
	}
	if out := logs.String(); out != "" {
		t.Fatalf("logged through session pooling:\n%s", out)
	}
}

// TestListenFallsBackToPollingThroughTransactionPooling: through a
// PgBouncer in transaction mode LISTEN is accepted but notifications do not
// reach the listener; Listen finds that out, says so in one warning, and
// tries no more (the claim loop polls) until its context ends.
func TestListenFallsBackToPollingThroughTransactionPooling(t *testing.T) {
	pooled, _ := pgtest.Bouncer(t, pgtest.TransactionPooling)
	var logs syncBuffer
	d := openMigrated(t, pooled, pgdriver.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	listen(t, d, driver.ListenParams{OnNotify: func() {}})
	waitLogged(t, &logs, "notifications do not arrive")
	// More inserts, and so more notifications, change nothing.
	now := time.Now()
	for _, id := range []string{"a", "b"} {
		if _, err := d.Insert(t.Context(), []driver.InsertParams{{ID: id, Topic: "t", Payload: []byte(`1`), RunAt: now, Now: now}}); err != nil {
			t.Fatalf("Insert: %v", err)
		}
	}
	pgdriver.WaitAnnounced(d)
	if out := logs.String(); strings.Count(out, "\n") != 1 || !strings.Contains(out, "level=WARN") {
		t.Fatalf("want one warning, got:\n%s", out)
	}
}

// waitLogged waits until logs holds want.
func waitLogged(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	testpoll.Until(t, 30*time.Second, "a log line with "+strconv.Quote(want), func() bool {
		return strings.Contains(logs.String(), want)
	})
}
