package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// rssPrefix starts the line on which a child reports its peak RSS.
const rssPrefix = "peak-rss-kib="

// runRSSChild runs this program again as a child that holds the jobs of t
// with sys, and returns the child's peak RSS in KiB.
func runRSSChild(ctx context.Context, sys system, t target, hold time.Duration) (int64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("find this program: %w", err)
	}
	cmd := exec.CommandContext(ctx, self,
		"-rss-child", sys.key(), "-rss-dir", t.dir, "-rss-dsn", t.dsn, "-rss-hold", hold.String())
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("RSS child: %w", err)
	}
	for line := range strings.Lines(stdout.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), rssPrefix); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("the RSS child reported nothing: %q", stdout.String())
}

// childRSS is the child side: it opens the system named by key on the
// existing target, starts working with handlers that block (so the claimed
// jobs stay running and the rest stay pending), waits for hold, prints its
// peak RSS, then lets the handlers return and shuts down.
func childRSS(ctx context.Context, key string, t target, hold time.Duration) error {
	sys, err := findSystem(key)
	if err != nil {
		return err
	}
	q, err := sys.open(ctx, t)
	if err != nil {
		return fmt.Errorf("open %s: %w", key, err)
	}
	release := make(chan struct{})
	if err := q.start(ctx, func() { <-release }); err != nil {
		close(release)
		return fmt.Errorf("start %s: %w", key, err)
	}
	waitErr := sleep(ctx, hold)
	kib, rssErr := peakRSSKiB()
	close(release)
	if err := q.close(); err != nil {
		return fmt.Errorf("close %s: %w", key, err)
	}
	if waitErr != nil {
		return waitErr
	}
	if rssErr != nil {
		return rssErr
	}
	fmt.Printf("%s%d\n", rssPrefix, kib)
	return nil
}
