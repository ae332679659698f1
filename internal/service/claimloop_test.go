package service

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
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
