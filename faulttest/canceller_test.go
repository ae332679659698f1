//go:build unix

package faulttest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// cancelAttempt is one cancel request the test sent, and what came of it.
type cancelAttempt struct {
	id string
	// picked is the job's status when it was picked: pending or processing.
	picked string
	// restarts counts the worker restarts before the request was sent.
	restarts int
	// answered is when the request returned. A cancel that took effect did
	// so before: no run of the job may start after it.
	answered time.Time
	// status is the HTTP status, 0 when no complete response came.
	status int
	// err is set when no complete response came: the worker was killed
	// with the request on its way, and the cancel may or may not have been
	// written.
	err error
}

// inDoubt tells whether the worker may or may not have cancelled the job.
func (a cancelAttempt) inDoubt() bool { return a.err != nil }

// canceller cancels jobs of one topic through a worker's HTTP API, on its
// own goroutine, at a steady pace: in turn a pending and a processing job,
// picked at random from the job table. It sends each job one cancel at most
// (a request the worker refused to connect, while it was down, does not
// count), and goes on across kills and restarts of the worker: the client's
// token outlives its process.
type canceller struct {
	client *client
	table  *jobTable
	topic  string
	// restarts is the number of worker restarts so far, kept by the test.
	restarts *atomic.Int32

	// written, when set, is closed once the next request has been written
	// to the worker.
	mu      sync.Mutex
	written chan struct{}

	stopLoop context.CancelFunc
	// done is closed when the loop has ended; attempts and err are the
	// loop's until then.
	done     chan struct{}
	attempts []cancelAttempt
	err      error
}

// startCanceller starts cancelling jobs of topic, one every interval.
func startCanceller(c *client, table *jobTable, topic string, every time.Duration, restarts *atomic.Int32) *canceller {
	ctx, stop := context.WithCancel(context.Background())
	cn := &canceller{client: c, table: table, topic: topic, restarts: restarts, stopLoop: stop, done: make(chan struct{})}
	go cn.loop(ctx, every)
	return cn
}

// stop ends the loop, after the request on its way if any, and returns
// every cancel sent.
func (cn *canceller) stop() ([]cancelAttempt, error) {
	cn.stopLoop()
	<-cn.done
	return cn.attempts, cn.err
}

// nextWritten returns a channel closed once the next cancel request has
// been written to the worker: a kill then catches it on its way.
func (cn *canceller) nextWritten() <-chan struct{} {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	cn.written = make(chan struct{})
	return cn.written
}

// wrote closes the channel of nextWritten, if any.
func (cn *canceller) wrote(httptrace.WroteRequestInfo) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.written != nil {
		close(cn.written)
		cn.written = nil
	}
}

// loop sends a cancel every interval until ctx ends, or reading the table
// fails.
func (cn *canceller) loop(ctx context.Context, every time.Duration) {
	defer close(cn.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	statuses := [...]string{"pending", "processing"}
	sent := make(map[string]bool)
	for turn := 0; ; turn++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		picked := statuses[turn%len(statuses)]
		id, ok, err := cn.table.pick(cn.topic, picked)
		if err != nil {
			cn.err = err
			return
		}
		if !ok || sent[id] {
			continue
		}
		if a, delivered := cn.cancel(id, picked); delivered {
			sent[id] = true
			cn.attempts = append(cn.attempts, a)
		}
	}
}

// cancel sends the cancel of job id. delivered is false when the worker
// refused the connection: it was down, and the job is untouched.
func (cn *canceller) cancel(id, picked string) (a cancelAttempt, delivered bool) {
	a = cancelAttempt{id: id, picked: picked, restarts: int(cn.restarts.Load())}
	// Not the loop's context: stop lets the request on its way end.
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{WroteRequest: cn.wrote})
	a.status, a.err = cn.client.do(ctx, http.MethodPost, fmt.Sprintf("/api/jobs/%s/cancel", id), nil, nil)
	a.answered = time.Now()
	return a, !errors.Is(a.err, syscall.ECONNREFUSED)
}
