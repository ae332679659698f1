package jobs

import (
	"context"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// gatherWait is the longest a claim waits for more workers to free up while
// a backlog is waiting.
const gatherWait = time.Millisecond

// claimResult is what one claim brought back to the loop.
type claimResult struct {
	limit int
	rows  []driver.JobRow
	err   error
}

// loop claims jobs whenever there may be runnable ones and free workers:
// on a wake-up, when workers free up after a full claim, at a delayed job's
// run time, and every PollInterval. Claims run on goroutines of their own
// and report back to the loop, which starts a worker per claimed job.
//
// Up to claimsInFlight claims may be on their way at once (see jobDB).
// Every claim reserves the workers it may fill, so jobs never outnumber free
// workers. While a backlog is waiting, a claim waits until at least minClaim
// workers are free (or gatherWait passed), so a busy queue claims in batches
// instead of one job per freed worker.
func (r *dispatchRun) loop(ctx context.Context) {
	defer close(r.loopDone)
	free := r.cfg.Workers
	minClaim := max(1, min(r.cfg.BatchSize, r.cfg.Workers)/2)
	inFlight := 0
	claimed := make(chan claimResult, r.claimsInFlight)
	// A claim that started is seen through even when the loop stops: its
	// rows may already be committed, and dropping them would strand them
	// in processing until their locks expire.
	defer func() {
		for ; inFlight > 0; inFlight-- {
			res := <-claimed
			for _, row := range res.rows {
				r.startWorker(jobFromRow(row))
			}
		}
	}()

	poll := time.NewTicker(r.cfg.PollInterval)
	defer poll.Stop()
	timer := newStoppedTimer()
	defer timer.Stop()
	var timerAt time.Time
	gather := newStoppedTimer()
	defer gather.Stop()

	claimNow, recoverNow, lookAhead := true, true, true
	gathering, gathered, backlog := false, false, false
	for {
		if recoverNow {
			r.recoverExpired(ctx)
			recoverNow = false
		}
		for claimNow && free > 0 && inFlight < r.claimsInFlight && (!backlog || free >= minClaim || gathered) {
			limit := min(free, r.cfg.BatchSize)
			free -= limit
			inFlight++
			go func() { claimed <- r.claim(ctx, limit) }()
			// This claim covers every wake-up so far; while a backlog
			// waits, more claims follow as workers free up.
			claimNow, gathered = backlog, false
		}
		if claimNow && free > 0 && inFlight < r.claimsInFlight && !gathering {
			gather.Reset(gatherWait)
			gathering = true
		}

		if at := r.d.takeWakeAt(); !at.IsZero() && (timerAt.IsZero() || at.Before(timerAt)) {
			timerAt = at
			timer.Reset(r.clock.Until(at))
		}

		select {
		case <-ctx.Done():
			return
		case res := <-claimed:
			inFlight--
			free += res.limit - len(res.rows)
			r.reportClaim(ctx, res.err)
			for _, row := range res.rows {
				r.startWorker(jobFromRow(row))
			}
			// A full claim means more may be waiting.
			backlog = res.err == nil && len(res.rows) == res.limit
			if backlog {
				claimNow = true
			} else if lookAhead && res.err == nil {
				if next := r.nextRunAt(ctx); !next.IsZero() {
					r.d.wakeLater(next)
				}
				lookAhead = false
			}
		case <-r.d.wakeCh:
			claimNow = true
		case <-poll.C:
			claimNow, recoverNow, lookAhead = true, true, true
		case <-timer.C:
			timerAt = time.Time{}
			claimNow, lookAhead = true, true
		case <-gather.C:
			gathering, gathered = false, true
		case <-r.slotFreed:
			free++
			free += drain(r.slotFreed)
		}
	}
}

// claim locks up to limit jobs of the topics that have a handler. A claim
// that started is seen through even when a stop cancels ctx meanwhile.
func (r *dispatchRun) claim(ctx context.Context, limit int) claimResult {
	res := claimResult{limit: limit}
	topics := r.d.p.handlers.list()
	if len(topics) == 0 || ctx.Err() != nil {
		return res
	}
	now := r.clock.Now()
	res.rows, res.err = r.drv.Claim(context.WithoutCancel(ctx), driver.ClaimParams{
		Topics:      topics,
		Limit:       limit,
		Now:         now,
		LockedUntil: now.Add(r.cfg.LockDuration),
	})
	return res
}

// reportClaim logs the start and the end of an outage of claims, once each.
func (r *dispatchRun) reportClaim(ctx context.Context, err error) {
	switch {
	case err == nil:
		r.outage.Recovered()
	case ctx.Err() == nil:
		r.outage.Failed(err)
	}
}

// newStoppedTimer returns a timer that has not been started.
func newStoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// drain takes every token ready on ch without blocking and counts them.
func drain(ch <-chan struct{}) int {
	n := 0
	for {
		select {
		case <-ch:
			n++
		default:
			return n
		}
	}
}
