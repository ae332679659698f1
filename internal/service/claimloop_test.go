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

// countingDriver claims nothing, counts its claims, and finds no job
// expired or delayed; it implements nothing else.
type countingDriver struct {
	driver.Driver
	claims atomic.Int64
}

// Claim implements driver.Driver.
func (d *countingDriver) Claim(context.Context, driver.ClaimParams) ([]driver.JobRow, error) {
	d.claims.Add(1)
	return nil, nil
}

// RecoverExpired implements driver.Driver.
func (d *countingDriver) RecoverExpired(context.Context, driver.RecoverParams) (int, error) {
	return 0, nil
}

// NextRunAt implements driver.Driver.
func (d *countingDriver) NextRunAt(context.Context, driver.NextRunAtParams) (time.Time, error) {
	return time.Time{}, nil
}

// OneWriter implements driver.Driver.
func (d *countingDriver) OneWriter() bool { return true }

// TestStopEndsTheClaimers: the goroutines a claim loop claims on live as
// long as the loop, and have returned when Stop returns.
func TestStopEndsTheClaimers(t *testing.T) {
	drv := &countingDriver{}
	clk := new(clock.Clock)
	waker := NewWaker(clk)
	loop := NewClaimLoop(ClaimLoopConfig{
		Driver: drv,
		Logger: slog.New(slog.DiscardHandler),
		Clock:  clk,
		Waker:  waker,
		Topics: func() []string { return []string{"t"} },
		Reserve: func(limit int, now time.Time) []driver.ClaimTopic {
			return []driver.ClaimTopic{{Topic: "t", Limit: limit}}
		},
		Unreserve:      func([]driver.ClaimTopic, []driver.JobRow) {},
		Run:            func(driver.JobRow) {},
		Freed:          make(chan struct{}),
		Workers:        4,
		BatchSize:      4,
		ClaimsInFlight: 2,
		PollInterval:   time.Hour,
	})
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
