package faulttest

import (
	"context"
	"net/http"
	"time"
)

// producer enqueues a job through the HTTP API at a steady pace, from its
// own goroutine, until it is stopped. Requests that get no response (the
// worker is down) are counted and the pace goes on.
type producer struct {
	cancel context.CancelFunc
	done   chan struct{}

	// Read these only after stop.
	accepted []string    // ids of the jobs enqueued
	refused  map[int]int // responses other than 200, by status
	lost     int         // requests without a response
}

// startProducer starts enqueueing body through c every interval.
func startProducer(c *client, every time.Duration, body map[string]any) *producer {
	ctx, cancel := context.WithCancel(context.Background())
	p := &producer{cancel: cancel, done: make(chan struct{}), refused: make(map[int]int)}
	go p.run(ctx, c, every, body)
	return p
}

func (p *producer) run(ctx context.Context, c *client, every time.Duration, body map[string]any) {
	defer close(p.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		id, status, err := c.enqueue(ctx, body)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			p.lost++
		case status == http.StatusOK:
			p.accepted = append(p.accepted, id)
		default:
			p.refused[status]++
		}
	}
}

// stop ends the producer and waits until its goroutine has returned. It is
// safe to call more than once.
func (p *producer) stop() {
	p.cancel()
	<-p.done
}
