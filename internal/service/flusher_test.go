package service

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestFlusherFlushesOncePerIntervalAndAtStop: signals within one interval
// lead to one flush, and Stop flushes once more, for what came after the
// last flush.
func TestFlusherFlushesOncePerIntervalAndAtStop(t *testing.T) {
	ready := make(chan struct{}, 1)
	var flushes atomic.Int32
	flushed := make(chan struct{}, 10)
	f := NewFlusher(FlusherConfig{
		Ready:    ready,
		Interval: 200 * time.Millisecond,
		Flush: func(context.Context) {
			flushes.Add(1)
			flushed <- struct{}{}
		},
	})
	f.Start()
	for range 3 {
		select {
		case ready <- struct{}{}:
		default:
		}
	}
	select {
	case <-flushed:
	case <-time.After(10 * time.Second):
		t.Fatal("no flush after a signal")
	}
	if err := f.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := flushes.Load(); got != 2 {
		t.Fatalf("%d flushes for three signals within an interval and a stop, want 2", got)
	}
}
