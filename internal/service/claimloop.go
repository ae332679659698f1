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

// slowClaim is how long late claims take, on average, when several wait
// for the writer at once (see claimState): four times what a claim of a
// full batch takes when it waits for nothing.
const slowClaim = 2 * time.Millisecond

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
	// mu guards state, which the loop changes as events come in, and a
	// late claim's claimer when it binds its workers (see bind): that
	// claimer holds the writer, so it must not wait for the loop, which
	// may be waiting for the writer itself (to recover expired locks).
	mu    sync.Mutex
	state claimState
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
	// limit is how many workers the claim reserved.
	limit int
	rows  []driver.JobRow
	err   error
	// took is how long the claim's database call took.
	took time.Duration
}

// run is the loop: it waits for a reason to claim, and claims as the claim
// state decides.
func (l *ClaimLoop) run(quit, abort context.Context) {
	l.state = newClaimState(l.cfg.Workers, l.cfg.BatchSize, l.cfg.ClaimsInFlight, l.cfg.Driver.OneWriter())
	claims, claimed, stopClaimers := l.startClaimers(quit, abort)
	defer func() {
		l.mu.Lock()
		inFlight := l.state.inFlight
		l.mu.Unlock()
		for range inFlight {
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
	l.update((*claimState).want)
	lookAhead := true
	for {
		l.mu.Lock()
		for {
			limit, startGather := l.state.next()
			if startGather {
				gather.Reset(gatherFor(took))
				l.state.gatherStarted()
			}
			if limit == 0 {
				break
			}
			l.state.claimed(limit)
			gather.Stop() // it gathered for this claim (see claimState.claimed)
			claims <- limit
		}
		l.mu.Unlock()
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
			if l.cfg.Driver.OneWriter() {
				took = (3*took + res.took) / 4
			}
			var backlog bool
			l.update(func(s *claimState) {
				s.returned(res.limit, len(res.rows), res.err != nil)
				s.timed(took >= slowClaim)
				backlog = s.backlog
				if wait := paceAfter(took); !backlog && wait > 0 {
					s.paced()
					pace.Reset(wait)
				}
			})
			l.reportClaim(quit, res.err)
			l.handOut(res)
			if !backlog && lookAhead && res.err == nil {
				l.lookAhead(quit)
				lookAhead = false
			}
		case <-l.cfg.Waker.Woken():
			l.update((*claimState).want)
		case <-poll.C:
			l.recoverExpired(quit)
			l.update((*claimState).want)
			lookAhead = true
		case <-timer.C:
			l.cfg.Waker.Passed(timerAt)
			timerAt = time.Time{}
			l.update((*claimState).want)
			lookAhead = true
		case <-gather.C:
			l.update((*claimState).gatherRang)
		case <-pace.C:
			l.update((*claimState).paceEnded)
		case <-l.cfg.Freed:
			n := 1 + drain(l.cfg.Freed)
			l.update(func(s *claimState) { s.freed(n) })
		}
	}
}

// update changes the claim state under its lock.
func (l *ClaimLoop) update(change func(s *claimState)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	change(&l.state)
}

// bind reserves the workers of a late claim that holds the writer: those
// free now, none once the loop was told to quit.
func (l *ClaimLoop) bind(quit context.Context) (limit int) {
	if quit.Err() != nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state.bind()
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
//
// The driver binds the claim (driver.ClaimParams.Bind): it then reserves
// its topics' room and takes the outcomes it writes first. On a database
// with one writer the claim is late: the driver binds it once it holds the
// writer, and only then does it reserve its workers too — those free then,
// not limit — all of which gathered while it waited. Elsewhere the driver
// binds it as it begins, with the limit workers the loop reserved.
func (l *ClaimLoop) claim(quit, abort context.Context, limit int) claimResult {
	late := l.cfg.Driver.OneWriter()
	var res claimResult
	if !late {
		res.limit = limit
	}
	if quit.Err() != nil {
		return res
	}
	var topics []driver.ClaimTopic
	var outcomes []driver.Outcome
	bound := false
	bind := func() driver.ClaimParams {
		bound = true
		if late {
			res.limit = l.bind(quit)
		}
		now := l.cfg.Clock.Now()
		if res.limit > 0 {
			topics = l.cfg.Reserve(res.limit, now)
		}
		if l.cfg.TakeOutcomes != nil {
			outcomes = l.cfg.TakeOutcomes(maxOutcomesPerClaim)
		}
		return driver.ClaimParams{Topics: topics, Limit: res.limit, Now: now, Outcomes: outcomes}
	}
	defer func() {
		if bound && res.limit > 0 {
			l.cfg.Unreserve(topics, res.rows)
		}
	}()
	ctx, cancel := call(abort)
	defer cancel()
	began := time.Now()
	res.rows, res.err = l.cfg.Driver.Claim(ctx, driver.ClaimParams{Bind: bind})
	res.took = time.Since(began)
	if bound && l.cfg.Settle != nil {
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
