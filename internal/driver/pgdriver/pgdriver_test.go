package pgdriver_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
	"github.com/pocketbase-jobs/jobs/internal/drivertest"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	drivertest.Exercise(t, func(t *testing.T) driver.Driver {
		return open(t, pgtest.DSN(t))
	})
}

// open opens a driver on dsn and closes it when t ends.
func open(t *testing.T, dsn string, opts ...pgdriver.Option) *pgdriver.Driver {
	t.Helper()
	d, err := pgdriver.Open(t.Context(), dsn, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(d.Close)
	return d
}

// openMigrated opens a driver on dsn and migrates the database.
func openMigrated(t *testing.T, dsn string, opts ...pgdriver.Option) *pgdriver.Driver {
	t.Helper()
	d := open(t, dsn, opts...)
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return d
}

func TestOpenRejectsABadDSN(t *testing.T) {
	if _, err := pgdriver.Open(t.Context(), "postgres://%zz"); err == nil {
		t.Fatal("Open of a malformed DSN succeeded")
	}
}

func TestCloseLeavesAPoolItWasGiven(t *testing.T) {
	pool, err := pgxpool.New(t.Context(), pgtest.DSN(t))
	if err != nil {
		t.Fatalf("pgxpool.New: %v", err)
	}
	defer pool.Close()
	pgdriver.New(pool).Close()
	if err := pool.Ping(t.Context()); err != nil {
		t.Fatalf("the caller's pool is unusable after Close: %v", err)
	}
}

// TestAnnouncesStoredJobsOnly: a stored Insert, a Requeue, the resume of a
// paused topic and a recorded Tick each send a notification once they have
// committed; a failed Insert, an Insert of a duplicate, a Claim, a Finish, a
// pause, the resume of a topic that was not paused, a refused Tick and a
// Cancel (told on its own channel) send none.
func TestAnnouncesStoredJobsOnly(t *testing.T) {
	dsn := pgtest.DSN(t)
	d := openMigrated(t, dsn)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "LISTEN "+pgdriver.Channel); err != nil {
		t.Fatalf("listen: %v", err)
	}
	// notified returns the notifications sent by d since the last call:
	// once d has sent what it announced, a marker sent now arrives after
	// them.
	notified := func(marker string) []string {
		t.Helper()
		pgdriver.WaitAnnounced(d)
		if _, err := conn.Exec(t.Context(), `SELECT pg_notify($1, $2)`, pgdriver.Channel, marker); err != nil {
			t.Fatalf("notify: %v", err)
		}
		var got []string
		for {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			n, err := conn.WaitForNotification(ctx)
			cancel()
			if err != nil {
				t.Fatalf("wait for notifications (got %q so far): %v", got, err)
			}
			if n.Payload == marker {
				return got
			}
			got = append(got, n.Payload)
		}
	}

	now := time.Now()
	bad := driver.InsertParams{ID: "bad", Topic: "t", Payload: []byte(`{not json`), RunAt: now, Now: now}
	if _, err := d.Insert(t.Context(), []driver.InsertParams{bad}); err == nil {
		t.Fatal("Insert of an invalid payload succeeded")
	}
	if got := notified("after bad insert"); len(got) != 0 {
		t.Fatalf("a failed Insert sent notifications %q", got)
	}
	good := driver.InsertParams{ID: "good", Topic: "t", Payload: []byte(`{}`), RunAt: now, Now: now}
	if _, err := d.Insert(t.Context(), []driver.InsertParams{good}); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if got := notified("after insert"); len(got) != 1 {
		t.Fatalf("Insert sent notifications %q, want one", got)
	}
	claimed, err := d.Claim(t.Context(), driver.ClaimParams{Limit: 1, Now: now,
		Topics: []driver.ClaimTopic{{Topic: "t", Limit: 1, LockedUntil: now.Add(time.Minute)}}})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("Claim = %v, %v", claimed, err)
	}
	outcome := driver.Outcome{ID: "good", LockVersion: claimed[0].LockVersion, Status: driver.StatusFailed}
	if n, err := d.Finish(t.Context(), driver.FinishParams{Outcomes: []driver.Outcome{outcome}, Now: now}); err != nil || n != 1 {
		t.Fatalf("Finish = %d, %v", n, err)
	}
	if got := notified("after claim and finish"); len(got) != 0 {
		t.Fatalf("Claim and Finish sent notifications %q", got)
	}
	if _, err := d.Requeue(t.Context(), driver.RequeueParams{ID: "good", RunAt: now, Now: now}); err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	if got := notified("after requeue"); len(got) != 1 {
		t.Fatalf("Requeue sent notifications %q, want one", got)
	}
	setPaused := func(paused bool) {
		t.Helper()
		if err := d.SetPaused(t.Context(), driver.PauseParams{Topic: "t", Paused: paused, Now: now}); err != nil {
			t.Fatalf("SetPaused(%v): %v", paused, err)
		}
	}
	setPaused(true)
	if got := notified("after pause"); len(got) != 0 {
		t.Fatalf("a pause sent notifications %q", got)
	}
	setPaused(false)
	if got := notified("after resume"); len(got) != 1 {
		t.Fatalf("a resume sent notifications %q, want one", got)
	}
	setPaused(false)
	if got := notified("after resuming again"); len(got) != 0 {
		t.Fatalf("the resume of a topic not paused sent notifications %q", got)
	}
	if _, err := d.Cancel(t.Context(), driver.CancelParams{ID: "good", Now: now}); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if got := notified("after cancel"); len(got) != 0 {
		t.Fatalf("Cancel sent notifications %q", got)
	}

	keyed := driver.InsertParams{ID: "keyed", Topic: "t", Payload: []byte(`{}`), RunAt: now, UniqueKey: "K", Now: now}
	tick := func(job driver.InsertParams) bool {
		t.Helper()
		ticked, err := d.Tick(t.Context(), driver.TickParams{Name: "s", Tick: now, Job: job})
		if err != nil {
			t.Fatalf("Tick: %v", err)
		}
		return ticked
	}
	if !tick(keyed) {
		t.Fatal("Tick not recorded")
	}
	if got := notified("after tick"); len(got) != 1 {
		t.Fatalf("a recorded Tick sent notifications %q, want one", got)
	}
	again := keyed
	again.ID = "again"
	if tick(again) {
		t.Fatal("Tick of a recorded tick recorded again")
	}
	if got := notified("after a refused tick"); len(got) != 0 {
		t.Fatalf("a refused Tick sent notifications %q", got)
	}
	if rows, err := d.Insert(t.Context(), []driver.InsertParams{again}); err != nil || !rows[0].Duplicate {
		t.Fatalf("Insert of a held key = %+v, %v; want a duplicate", rows, err)
	}
	if got := notified("after a duplicate"); len(got) != 0 {
		t.Fatalf("an Insert of a duplicate sent notifications %q", got)
	}
}

// TestUndoneClaimIsNotRepeated: a claim that a server crash undid (its
// commit is asynchronous) leaves the job as it was; the next claim of the
// job must not get the undone claim's lock version, or the outcome of the
// undone claim would pass for the next one's.
func TestUndoneClaimIsNotRepeated(t *testing.T) {
	dsn := pgtest.DSN(t)
	d := openMigrated(t, dsn)
	t0 := time.Now()
	if _, err := d.Insert(t.Context(), []driver.InsertParams{{ID: "a", Topic: "t", Payload: []byte(`{}`), RunAt: t0, Now: t0}}); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	claim := func(now time.Time) driver.JobRow {
		t.Helper()
		rows, err := d.Claim(t.Context(), driver.ClaimParams{Limit: 1, Now: now,
			Topics: []driver.ClaimTopic{{Topic: "t", Limit: 1, LockedUntil: now.Add(time.Minute)}}})
		if err != nil || len(rows) != 1 {
			t.Fatalf("Claim = %v, %v", rows, err)
		}
		return rows[0]
	}
	undone := claim(t0)
	// The crash: the row is back as it was before the claim.
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatalf("pgxpool.New: %v", err)
	}
	defer pool.Close()
	_, err = pool.Exec(t.Context(), `UPDATE _jobs SET status = 'pending', attempts = 0, lock_version = 0, locked_until = NULL WHERE id = 'a'`)
	if err != nil {
		t.Fatalf("undo the claim: %v", err)
	}
	next := claim(t0.Add(time.Millisecond))
	if next.LockVersion == undone.LockVersion {
		t.Fatalf("the claim after an undone one got its lock version %d again", next.LockVersion)
	}
	late := driver.Outcome{ID: "a", LockVersion: undone.LockVersion, Status: driver.StatusFailed, LastError: "late"}
	if n, err := d.Finish(t.Context(), driver.FinishParams{Outcomes: []driver.Outcome{late}, Now: t0}); err != nil || n != 0 {
		t.Fatalf("Finish of the undone claim = %d, %v; want 0 written", n, err)
	}
}

// listen runs Listen with p until the test ends.
func listen(t *testing.T, d *pgdriver.Driver, p driver.ListenParams) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Listen(ctx, p) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen returned %v after its context ended, want nil", err)
		}
	})
}

// listening runs Listen, without OnCancel, until the test ends, and reports
// each onNotify on the returned channel.
func listening(t *testing.T, d *pgdriver.Driver) <-chan struct{} {
	t.Helper()
	notified := make(chan struct{}, 100)
	listen(t, d, driver.ListenParams{OnNotify: func() { notified <- struct{}{} }})
	return notified
}

// awaitNotify fails t unless onNotify is called within a deadline.
func awaitNotify(t *testing.T, notified <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-notified:
	case <-time.After(10 * time.Second):
		t.Fatalf("no onNotify %s", what)
	}
}

// TestListenWakesOnInsertsOfOtherConnections: an insert through another
// driver wakes the listener, also after a cancel that a listener without
// OnCancel ignores.
func TestListenWakesOnInsertsOfOtherConnections(t *testing.T) {
	dsn := pgtest.DSN(t)
	listener := openMigrated(t, dsn)
	other := open(t, dsn)
	notified := listening(t, listener)
	awaitNotify(t, notified, "when listening starts")

	now := time.Now()
	for _, id := range []string{"a", "b"} {
		if _, err := other.Insert(t.Context(), []driver.InsertParams{{ID: id, Topic: "t", Payload: []byte(`1`), RunAt: now, Now: now}}); err != nil {
			t.Fatalf("Insert: %v", err)
		}
		awaitNotify(t, notified, "after an insert on another connection")
		if _, err := other.Cancel(t.Context(), driver.CancelParams{ID: id, Now: now}); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
	}
}

// TestListenTellsCancelsOfOtherConnections: a cancel through another driver
// reaches OnCancel with the job's id, whether the job was pending or
// processing; a refused cancel tells nothing.
func TestListenTellsCancelsOfOtherConnections(t *testing.T) {
	dsn := pgtest.DSN(t)
	listener := openMigrated(t, dsn)
	other := open(t, dsn)
	notified := make(chan struct{}, 100)
	cancelled := make(chan driver.Claim, 100)
	listen(t, listener, driver.ListenParams{
		OnNotify: func() { notified <- struct{}{} },
		OnCancel: func(c driver.Claim) { cancelled <- c },
	})
	awaitNotify(t, notified, "when listening starts")

	now := time.Now()
	jobs := []driver.InsertParams{
		{ID: "pending", Topic: "p", Payload: []byte(`1`), RunAt: now, Now: now},
		{ID: "processing", Topic: "t", Payload: []byte(`2`), RunAt: now, Now: now},
		{ID: "last", Topic: "p", Payload: []byte(`3`), RunAt: now, Now: now},
	}
	if _, err := other.Insert(t.Context(), jobs); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	claimed, err := other.Claim(t.Context(), driver.ClaimParams{Limit: 1, Now: now,
		Topics: []driver.ClaimTopic{{Topic: "t", Limit: 1, LockedUntil: now.Add(time.Minute)}}})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("Claim = %v, %v", claimed, err)
	}
	// Each job is cancelled, then its cancel refused; the refused cancels
	// tell nothing, so the claims told are those of the cancels, in turn.
	for _, id := range []string{"pending", "processing", "last"} {
		row, err := other.Cancel(t.Context(), driver.CancelParams{ID: id, Now: now})
		if err != nil {
			t.Fatalf("Cancel(%s): %v", id, err)
		}
		select {
		case got := <-cancelled:
			if want := (driver.Claim{ID: id, LockVersion: row.LockVersion}); got != want {
				t.Fatalf("OnCancel(%+v), want OnCancel(%+v)", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no OnCancel after the cancel of job %s", id)
		}
		if _, err := other.Cancel(t.Context(), driver.CancelParams{ID: id, Now: now}); !errors.Is(err, driver.ErrWrongStatus) {
			t.Fatalf("Cancel(%s) again: got %v, want ErrWrongStatus", id, err)
		}
	}
}

func TestListenReconnectsAfterItsBackendIsKilled(t *testing.T) {
	dsn := pgtest.DSN(t)
	var logs syncBuffer
	listener := openMigrated(t, dsn, pgdriver.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	other := open(t, dsn)
	notified := listening(t, listener)
	awaitNotify(t, notified, "when listening starts")

	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var killed int
	err = conn.QueryRow(t.Context(), `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the listener's backend: killed %d, %v", killed, err)
	}
	awaitNotify(t, notified, "after reconnecting")

	now := time.Now()
	if _, err := other.Insert(t.Context(), []driver.InsertParams{{ID: "a", Topic: "t", Payload: []byte(`1`), RunAt: now, Now: now}}); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	awaitNotify(t, notified, "for an insert after reconnecting")

	out := logs.String()
	if strings.Count(out, "level=WARN") != 1 || strings.Count(out, "level=INFO") != 1 {
		t.Fatalf("want one warning for the outage and one note of recovery, got:\n%s", out)
	}
}

// TestListenRetriesQuietlyWhileTheServerIsAway: with no server, Listen keeps
// trying, logs the outage once, and returns when its context ends.
func TestListenRetriesQuietlyWhileTheServerIsAway(t *testing.T) {
	cfg, err := pgxpool.ParseConfig("postgres://nobody@127.0.0.1/none?sslmode=disable")
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	dials := make(chan struct{}, 100)
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials <- struct{}{}
		return nil, errors.New("server unreachable")
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("pgxpool.NewWithConfig: %v", err)
	}
	defer pool.Close()
	var logs syncBuffer
	d := pgdriver.New(pool, pgdriver.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- d.Listen(ctx, driver.ListenParams{OnNotify: func() { t.Error("onNotify without a connection") }})
	}()
	for attempt := 1; attempt <= 3; attempt++ {
		select {
		case <-dials:
		case <-time.After(10 * time.Second):
			t.Fatalf("Listen made %d connection attempts, want it to keep trying", attempt-1)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Listen returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
	if out := logs.String(); strings.Count(out, "level=WARN") != 1 || strings.Contains(out, "level=INFO") {
		t.Fatalf("want exactly one warning, got:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
