package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/outage"
)

// maxOutcomesPerClaim is the most outcomes one claim writes first.
const maxOutcomesPerClaim = maxFinishBatch

// gatherWait is the longest a claim waits for more workers to free up while
// a backlog waits (see claimState), unless the last claim found the
// database busy (see gatherFor).
const gatherWait = time.Millisecond

// gatherFor is how long a claim waits for more workers to free up while a
// backlog waits, after a claim that took took: gatherWait, or as long as a
// claim waits in its turn after a busy one (see paceAfter), for then a
// writer turn costs more than the wait.
func gatherFor(took time.Duration) time.Duration {
	return max(gatherWait, paceAfter(took))
}

// LockExpiredError is the last error the claim loop gives a job whose lock
// expired before its attempt finished.
const LockExpiredError = "lock expired before the attempt finished (the process stopped or the handler outlived LockDuration)"

// ClaimLoopConfig is what a ClaimLoop is built from.
type ClaimLoopConfig struct {
	Driver driver.Driver
	Logger *slog.Logger
	Clock  *clock.Clock
	// Waker tells the loop when jobs may be runnable.
	Waker *Waker
	// Topics returns the topics that have a handler: the loop looks ahead
	// at only those. The caller must not modify the slice.
	Topics func() []string
	// Reserve returns the topics a claim of up to limit jobs made at now
	// may take jobs of, each with its own limit and lock, and reserves that
	// room; Unreserve gives back the room the claim's jobs did not fill.
	// The loop calls Unreserve once for every Reserve.
	Reserve   func(limit int, now time.Time) []driver.ClaimTopic
	Unreserve func(reserved []driver.ClaimTopic, claimed []driver.JobRow)
	// TakeOutcomes takes queued outcomes for a claim to write first, in
	// its transaction; Settle is told whether the claim wrote them. Either
	// may be nil: claims then write no outcome.
	TakeOutcomes func(max int) []driver.Outcome
	Settle       func(taken []driver.Outcome, err error)
	// Run hands a claimed job to a free worker. The loop reserved the
	// worker before it claimed, so Run never has to wait for one.
	Run func(driver.JobRow)
	// Freed gets a token each time a worker finishes a job.
	Freed <-chan struct{}
	// Workers is how many jobs may run at once.
	Workers int
	// BatchSize is the most jobs one claim takes.
	BatchSize int
	// ClaimsInFlight is how many claims may be on their way at once.
	ClaimsInFlight int
	// PollInterval is how often the loop claims, recovers expired locks and
	// looks ahead without being woken.
	PollInterval time.Duration
}

// ClaimLoop claims jobs whenever there may be runnable ones and free
// workers: on a wake-up, when workers free up after a full claim, at a
// delayed job's run time, and every PollInterval — after a claim that found
// the database busy, in its turn (see paceAfter). Claims run on claimer
// goroutines beside the loop (see startClaimers), each writing the
// outcomes queued meanwhile first, and report back to the loop, which
// hands each claimed job to a worker. Every poll also returns the jobs
// whose lock expired to pending (or failed); after a claim that leaves no
// backlog, the loop looks ahead once for the next delayed job and asks its
// Waker to wake it then.
type ClaimLoop struct {
	cfg ClaimLoopConfig
	// outage logs an outage of the job database once each way.
	outage *outage.Log
	// recovering is set while consecutive polls recover expired locks:
	// the first of them warns, the others only inform, so one crash or
	// restart, whose locks expire a poll or two apart, warns once.
	recovering bool
	runner
}

var _ Service = (*ClaimLoop)(nil)

// NewClaimLoop returns a claim loop; Start starts it.
func NewClaimLoop(cfg ClaimLoopConfig) *ClaimLoop {
	return &ClaimLoop{
		cfg: cfg,
		outage: outage.New(cfg.Logger, slog.LevelError,
			"jobs: the job database is unavailable; retrying every poll interval",
			"jobs: the job database is available again"),
		runner: runner{name: "claiming jobs"},
	}
}

// Start starts claiming.
func (l *ClaimLoop) Start() { l.start(l.run) }

// Stop stops claiming. A claim on its way is seen through, and its jobs
// handed to workers, until ctx ends: its rows may be committed already, and
// dropping them would strand them in processing until their locks expire.
// A claim still on its way then is cancelled; if the database committed it
// all the same, its jobs stay processing until their locks expire.
func (l *ClaimLoop) Stop(ctx context.Context) error { return l.stop(ctx) }

// claimResult is what one claim brought back to the loop.
type claimResult struct {
	limit int
	rows  []driver.JobRow
	err   error
	// took is how long the claim's database call took.
	took time.Duration
}

// run is the loop: it waits for a reason to claim, and claims as the claim
// state decides.
func (l *ClaimLoop) run(quit, abort context.Context) {
	state := newClaimState(l.cfg.Workers, l.cfg.BatchSize, l.cfg.ClaimsInFlight, l.cfg.Driver.OneWriter())
	claims, claimed, stopClaimers := l.startClaimers(quit, abort)
	defer func() {
		for range state.inFlight {
			l.handOut(<-claimed)
		}
		stopClaimers()
	}()

	poll := time.NewTicker(l.cfg.PollInterval)
	defer poll.Stop()
	timer, gather, pace := newStoppedTimer(), newStoppedTimer(), newStoppedTimer()
	defer timer.Stop()
	defer gather.Stop()
	defer pace.Stop()
	// timerAt is the wake-up time timer is set for; zero when it is not.
	var timerAt time.Time
	// took is how long claims take, averaged over the last few, on a
	// database with one writer (see driver.Driver.OneWriter); elsewhere it
	// stays zero: claims are neither spaced nor made to wait for workers.
	var took time.Duration

	l.recoverExpired(quit)
	state.want()
	lookAhead := true
	for {
		for {
			limit, startGather := state.next()
			if startGather {
				gather.Reset(gatherFor(took))
				state.gatherStarted()
			}
			if limit == 0 {
				break
			}
			state.claimed(limit)
			gather.Stop() // it gathered for this claim (see claimState.claimed)
			claims <- limit
		}
		if at := l.cfg.Waker.Next(); !at.Equal(timerAt) {
			timerAt = at
			timer.Stop()
			if !at.IsZero() {
				timer.Reset(l.cfg.Clock.Until(at))
			}
		}

		select {
		case <-quit.Done():
			return
		case res := <-claimed:
			state.returned(res.limit, len(res.rows), res.err != nil)
			if l.cfg.Driver.OneWriter() {
				took = (3*took + res.took) / 4
			}
			if wait := paceAfter(took); !state.backlog && wait > 0 {
				state.paced()
				pace.Reset(wait)
			}
			l.reportClaim(quit, res.err)
			l.handOut(res)
			if !state.backlog && lookAhead && res.err == nil {
				l.lookAhead(quit)
				lookAhead = false
			}
		case <-l.cfg.Waker.Woken():
			state.want()
		case <-poll.C:
			l.recoverExpired(quit)
			state.want()
			lookAhead = true
		case <-timer.C:
			l.cfg.Waker.Passed(timerAt)
			timerAt = time.Time{}
			state.want()
			lookAhead = true
		case <-gather.C:
			state.gatherRang()
		case <-pace.C:
			state.paceEnded()
		case <-l.cfg.Freed:
			state.freed(1 + drain(l.cfg.Freed))
		}
	}
}

// startClaimers starts a goroutine for each claim that may be on its way
// at once, which claims as many jobs as each limit it takes from claims
// asks for and sends back what it claimed on claimed, until stop, which
// waits for them to return. Claims run on goroutines that live as long as
// the loop, rather than one each, because a claim grows its goroutine's
// stack deep into SQLite: a fresh goroutine would grow it again, by
// copying, every claim. Neither channel blocks a sender that keeps to
// ClaimsInFlight; the loop calls stop once it took every result.
func (l *ClaimLoop) startClaimers(quit, abort context.Context) (claims chan<- int, claimed <-chan claimResult, stop func()) {
	limits := make(chan int, l.cfg.ClaimsInFlight)
	results := make(chan claimResult, l.cfg.ClaimsInFlight)
	var wg sync.WaitGroup
	for range l.cfg.ClaimsInFlight {
		wg.Go(func() {
			for limit := range limits {
				results <- l.claim(quit, abort, limit)
			}
		})
	}
	return limits, results, func() {
		close(limits)
		wg.Wait()
	}
}

// claim locks up to limit jobs of the topics that have a handler and room,
// unless the loop was told to quit before the claim began. A claim that
// began is seen through, under abort.
func (l *ClaimLoop) claim(quit, abort context.Context, limit int) claimResult {
	res := claimResult{limit: limit}
	if quit.Err() != nil {
		return res
	}
	now := l.cfg.Clock.Now()
	topics := l.cfg.Reserve(limit, now)
	defer func() { l.cfg.Unreserve(topics, res.rows) }()
	var outcomes []driver.Outcome
	if l.cfg.TakeOutcomes != nil {
		outcomes = l.cfg.TakeOutcomes(maxOutcomesPerClaim)
	}
	if len(topics) == 0 && len(outcomes) == 0 {
		return res
	}
	ctx, cancel := call(abort)
	defer cancel()
	began := time.Now()
	res.rows, res.err = l.cfg.Driver.Claim(ctx, driver.ClaimParams{Topics: topics, Limit: limit, Now: now, Outcomes: outcomes})
	res.took = time.Since(began)
	if l.cfg.Settle != nil {
		l.cfg.Settle(outcomes, res.err)
	}
	return res
}

// handOut hands every job of a claim to a worker.
func (l *ClaimLoop) handOut(res claimResult) {
	for _, row := range res.rows {
		l.cfg.Run(row)
	}
}

// reportClaim logs the start and the end of an outage of claims, once each.
func (l *ClaimLoop) reportClaim(quit context.Context, err error) {
	switch {
	case err == nil:
		l.outage.Recovered()
	case quit.Err() == nil:
		l.outage.Failed(err)
	}
}

// lookAhead asks the Waker to wake the loop at the run time of the next
// delayed job, if there is one.
func (l *ClaimLoop) lookAhead(quit context.Context) {
	ctx, cancel := call(quit)
	defer cancel()
	next, err := l.cfg.Driver.NextRunAt(ctx, driver.NextRunAtParams{Topics: l.cfg.Topics()})
	switch {
	case err != nil && quit.Err() == nil:
		l.outage.Failed(err)
	case err == nil && !next.IsZero():
		l.cfg.Waker.WakeAt(next)
	}
}

// recoverExpired returns jobs whose lock expired to pending (or failed).
func (l *ClaimLoop) recoverExpired(quit context.Context) {
	ctx, cancel := call(quit)
	defer cancel()
	n, err := l.cfg.Driver.RecoverExpired(ctx, driver.RecoverParams{Now: l.cfg.Clock.Now(), LastError: LockExpiredError})
	switch {
	case err != nil:
		if quit.Err() == nil {
			l.outage.Failed(err)
		}
		return
	case n == 0:
		l.recovering = false
	case l.recovering:
		l.cfg.Logger.Info("jobs: recovered more jobs whose lock expired", "jobs", n)
	default:
		l.recovering = true
		l.cfg.Logger.Warn("jobs: recovered jobs whose lock expired", "jobs", n)
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
