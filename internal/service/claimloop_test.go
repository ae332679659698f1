package service

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/testpoll"
)

// expiringDriver recovers, on each call of RecoverExpired, the next count
// of its list; it implements nothing else.
type expiringDriver struct {
	driver.Driver
	counts []int
}

// RecoverExpired implements driver.Driver.
func (d *expiringDriver) RecoverExpired(context.Context, driver.RecoverParams) (int, error) {
	n := d.counts[0]
	d.counts = d.counts[1:]
	return n, nil
}

// TestRecoveryWarnsOncePerRunOfPolls: the locks of one crash expire a
// poll or two apart; the polls that recover them in a row warn once, and a
// later recovery, after a poll that found none, warns again.
func TestRecoveryWarnsOncePerRunOfPolls(t *testing.T) {
	var logs bytes.Buffer
	loop := NewClaimLoop(ClaimLoopConfig{
		Driver: &expiringDriver{counts: []int{3, 2, 1, 0, 4}},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Clock:  new(clock.Clock),
	})
	for range 5 {
		loop.recoverExpired(context.Background())
	}
	warnings := strings.Count(logs.String(), "level=WARN")
	infos := strings.Count(logs.String(), "level=INFO")
	if warnings != 2 || infos != 2 {
		t.Fatalf("polls recovering 3, 2, 1, 0 and 4 jobs logged %d warnings and %d infos, want 2 and 2:\n%s", warnings, infos, &logs)
	}
}

// quietDriver is a database with one writer in which no job's lock ever
// expires and no job is delayed; the test drivers that embed it claim. It
// implements nothing else.
type quietDriver struct {
	driver.Driver
}

// RecoverExpired implements driver.Driver.
func (quietDriver) RecoverExpired(context.Context, driver.RecoverParams) (int, error) {
	return 0, nil
}

// NextRunAt implements driver.Driver.
func (quietDriver) NextRunAt(context.Context, driver.NextRunAtParams) (time.Time, error) {
	return time.Time{}, nil
}

// OneWriter implements driver.Driver.
func (quietDriver) OneWriter() bool { return true }

// countingDriver claims nothing and counts its claims.
type countingDriver struct {
	quietDriver
	claims atomic.Int64
}

// Claim implements driver.Driver.
func (d *countingDriver) Claim(context.Context, driver.ClaimParams) ([]driver.JobRow, error) {
	d.claims.Add(1)
	return nil, nil
}

// newTestLoop returns a claim loop of drv, woken by waker, over workers
// workers that free up on freed, with up to claimsInFlight claims of up to
// a batch of workers jobs of the one topic "t" on their way.
func newTestLoop(drv driver.Driver, waker *Waker, freed chan struct{}, workers, claimsInFlight int) *ClaimLoop {
	return NewClaimLoop(ClaimLoopConfig{
		Driver: drv,
		Logger: slog.New(slog.DiscardHandler),
		Clock:  waker.clock,
		Waker:  waker,
		Topics: func() []string { return []string{"t"} },
		Reserve: func(limit int, now time.Time) []driver.ClaimTopic {
			return []driver.ClaimTopic{{Topic: "t", Limit: limit}}
		},
		Unreserve:      func([]driver.ClaimTopic, []driver.JobRow) {},
		Run:            func(driver.JobRow) {},
		Freed:          freed,
		Workers:        workers,
		BatchSize:      workers,
		ClaimsInFlight: claimsInFlight,
		PollInterval:   time.Hour,
	})
}

// TestStopEndsTheClaimers: the goroutines a claim loop claims on live as
// long as the loop, and have returned when Stop returns.
func TestStopEndsTheClaimers(t *testing.T) {
	drv := &countingDriver{}
	waker := NewWaker(new(clock.Clock))
	loop := newTestLoop(drv, waker, make(chan struct{}), 4, 2)
	loop.Start()
	for want := int64(1); want <= 3; want++ {
		waker.Wake()
		testpoll.Until(t, 5*time.Second, fmt.Sprintf("claim %d", want), func() bool { return drv.claims.Load() >= want })
	}
	if n := claimers(); n != 2 {
		t.Fatalf("%d goroutines claim for the running loop, want ClaimsInFlight, 2", n)
	}
	if err := loop.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if n := claimers(); n != 0 {
		t.Fatalf("%d goroutines claim for the stopped loop, want none", n)
	}
}

// claimers counts the goroutines that wait for claims to make or make one.
func claimers() int {
	stacks := make([]byte, 1<<20)
	stacks = stacks[:runtime.Stack(stacks, true)]
	return strings.Count(string(stacks), "(*ClaimLoop).startClaimers.func")
}

// heldDriver is a database with one writer whose claims each wait for a
// turn the test gives them, as claims wait for the writer behind the app's
// writes; a claim then binds, reports the workers it bound, and claims as
// many jobs. It implements nothing else.
type heldDriver struct {
	quietDriver
	// waiting gets a token as each claim starts to wait for its turn.
	waiting chan struct{}
	// turn lets one waiting claim go; closed, it lets them all go.
	turn chan struct{}
	// bound gets the workers each claim bound.
	bound chan int
}

// Claim implements driver.Driver.
func (d *heldDriver) Claim(_ context.Context, p driver.ClaimParams) ([]driver.JobRow, error) {
	d.waiting <- struct{}{}
	<-d.turn
	if p.Bind != nil {
		p = p.Bind()
	}
	d.bound <- p.Limit
	rows := make([]driver.JobRow, p.Limit)
	for i := range rows {
		rows[i] = driver.JobRow{ID: fmt.Sprint(i), Topic: "t"}
	}
	return rows, nil
}

// TestLateClaimTakesTheWorkersFreedWhileItWaits: on a database with one
// writer a claim reserves its workers when it holds the writer, not when it
// goes: a claim that went for two free workers, and waited while two more
// freed up, takes four jobs.
func TestLateClaimTakesTheWorkersFreedWhileItWaits(t *testing.T) {
	drv := &heldDriver{waiting: make(chan struct{}, 8), turn: make(chan struct{}), bound: make(chan int, 8)}
	waker := NewWaker(new(clock.Clock))
	freed := make(chan struct{}, 8)
	loop := newTestLoop(drv, waker, freed, 4, 3)
	loop.Start()
	defer func() {
		close(drv.turn)
		if err := loop.Stop(t.Context()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()
	freeWorkers := func(n int) {
		testpoll.Until(t, 5*time.Second, fmt.Sprintf("%d free workers", n), func() bool {
			loop.mu.Lock()
			defer loop.mu.Unlock()
			return loop.state.free == n
		})
	}

	waker.Wake()
	<-drv.waiting
	drv.turn <- struct{}{}
	if n := <-drv.bound; n != 4 {
		t.Fatalf("the first claim bound %d workers, want all 4", n)
	}
	freeWorkers(0)
	// Its four jobs run; the claim came back full, so a claim follows as
	// workers free up.
	freed <- struct{}{}
	freed <- struct{}{}
	<-drv.waiting
	freed <- struct{}{}
	freed <- struct{}{}
	freeWorkers(4)
	drv.turn <- struct{}{}
	if n := <-drv.bound; n != 4 {
		t.Fatalf("a claim that waited for the writer while workers freed up bound %d workers, want the 4 free", n)
	}
}
