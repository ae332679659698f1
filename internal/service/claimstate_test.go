package service

import "testing"

// TestClaimStateNext decides claims in every kind of state: ten workers,
// claims of at most four jobs, two claims on their way at most (so a claim
// waits for two free workers while a backlog waits).
func TestClaimStateNext(t *testing.T) {
	idle := newClaimState(10, 4, 2, false)
	if idle.minClaim != 2 {
		t.Fatalf("minClaim %d, want half the batch, 2", idle.minClaim)
	}
	with := func(change func(s *claimState)) claimState {
		s := idle
		change(&s)
		return s
	}
	for _, c := range []struct {
		name       string
		state      claimState
		wantLimit  int
		wantGather bool
	}{
		{"nothing asked for", idle, 0, false},
		{"asked, all workers free: a full batch", with(func(s *claimState) { s.wanted = true }), 4, false},
		{"asked, fewer workers free than a batch: as many as are free",
			with(func(s *claimState) { s.wanted, s.free = true, 3 }), 3, false},
		{"asked, no worker free", with(func(s *claimState) { s.wanted, s.free = true, 0 }), 0, false},
		{"asked, as many claims on their way as may be",
			with(func(s *claimState) { s.wanted, s.inFlight = true, 2 }), 0, false},
		{"asked, one claim on its way: another", with(func(s *claimState) { s.wanted, s.inFlight = true, 1 }), 4, false},
		{"a backlog, enough workers free", with(func(s *claimState) { s.wanted, s.backlog, s.free = true, true, 2 }), 2, false},
		{"a backlog, too few workers free: start gathering",
			with(func(s *claimState) { s.wanted, s.backlog, s.free = true, true, 1 }), 0, true},
		{"a backlog, too few workers free, gathering already",
			with(func(s *claimState) { s.wanted, s.backlog, s.free, s.gathering = true, true, 1, true }), 0, false},
		{"a backlog, too few workers free, gathered: claim them",
			with(func(s *claimState) { s.wanted, s.backlog, s.free, s.gathered = true, true, 1, true }), 1, false},
		{"no backlog, one worker free: claim it", with(func(s *claimState) { s.wanted, s.free = true, 1 }), 1, false},
		{"asked, waiting in its turn after a slow claim", with(func(s *claimState) { s.wanted, s.pacing = true, true }), 0, false},
		{"a backlog, waiting in its turn after a slow claim: the backlog goes first",
			with(func(s *claimState) { s.wanted, s.backlog, s.pacing = true, true, true }), 4, false},
	} {
		limit, gather := c.state.next()
		if limit != c.wantLimit || gather != c.wantGather {
			t.Errorf("%s: next() = %d, %v; want %d, %v", c.name, limit, gather, c.wantLimit, c.wantGather)
		}
	}
}

// claimStep is one event of a claim loop's life and what it must decide
// then.
type claimStep struct {
	event      string
	apply      func(s *claimState)
	wantLimit  int
	wantGather bool
}

// runClaimSteps applies each step's event to s, checks the decision, and
// records a claim as started when it decides one.
func runClaimSteps(t *testing.T, s claimState, steps []claimStep) {
	t.Helper()
	for _, step := range steps {
		step.apply(&s)
		limit, gather := s.next()
		if limit != step.wantLimit || gather != step.wantGather {
			t.Fatalf("after %s: next() = %d, %v; want %d, %v (state %+v)",
				step.event, limit, gather, step.wantLimit, step.wantGather, s)
		}
		if gather {
			s.gatherStarted()
		}
		if limit > 0 {
			s.claimed(limit)
		}
	}
}

// TestClaimStateBusyQueueClaimsInBatches: a wake-up claims a full batch;
// while claims come back full, claims follow as workers free up, but wait
// for half a batch of them or for the gather timer. A claim ends the
// gathering before it: the next one gathers anew, with a timer of its own,
// so a timer started for one claim never cuts short the next.
func TestClaimStateBusyQueueClaimsInBatches(t *testing.T) {
	runClaimSteps(t, newClaimState(4, 4, 1, false), []claimStep{
		{"a wake-up", (*claimState).want, 4, false},
		{"a second wake-up while the claim is on its way", (*claimState).want, 0, false},
		{"the claim came back full", func(s *claimState) { s.returned(4, 4, false) }, 0, false},
		{"one worker freed", func(s *claimState) { s.freed(1) }, 0, true},
		{"another freed while gathering", func(s *claimState) { s.freed(1) }, 2, false},
		{"that claim came back full", func(s *claimState) { s.returned(2, 2, false) }, 0, false},
		{"one worker freed: gather anew", func(s *claimState) { s.freed(1) }, 0, true},
		{"the gather timer rang", (*claimState).gatherRang, 1, false},
		{"that claim came back empty: the backlog's wish still stands, once",
			func(s *claimState) { s.returned(1, 0, false) }, 1, false},
		{"that claim came back empty too", func(s *claimState) { s.returned(1, 0, false) }, 0, false},
		{"three workers freed, nothing asked for", func(s *claimState) { s.freed(3) }, 0, false},
	})
}

// TestClaimStateOneWriterWaitsForAFullBatch: on a database with one writer
// (SQLite), claims are late: a claim reserves its workers only when it holds
// the writer, and takes those free then. While claims do not wait long for
// the writer, one waits at a time, and while a backlog waits a claim waits
// for every worker it can fill — not half a batch — or for the gather
// timer; a wake-up with no backlog still claims at once whatever is free.
func TestClaimStateOneWriterWaitsForAFullBatch(t *testing.T) {
	oneWriter := newClaimState(10, 4, 2, true)
	if oneWriter.minClaim != 4 {
		t.Fatalf("minClaim %d, want a full batch, 4", oneWriter.minClaim)
	}
	runClaimSteps(t, oneWriter, []claimStep{
		{"a wake-up", (*claimState).want, 4, false},
		{"a second wake-up while the claim waits for the writer: one at a time", (*claimState).want, 0, false},
		{"the claim holds the writer", binds(t, 4), 0, false},
		{"the claim came back full", func(s *claimState) { s.returned(4, 4, false) }, 4, false},
		{"the second holds the writer", binds(t, 4), 0, false},
		{"the second came back full, two workers free: gather, not claim two",
			func(s *claimState) { s.returned(4, 4, false) }, 0, true},
		{"one more freed while gathering", func(s *claimState) { s.freed(1) }, 0, false},
		{"a fourth freed: a full batch", func(s *claimState) { s.freed(1) }, 4, false},
		{"two more freed while it waits for the writer: it binds four, a batch", func(s *claimState) {
			s.freed(2)
			binds(t, 4)(s)
		}, 0, false},
		{"that claim came back short: the backlog's wish still stands, once",
			func(s *claimState) { s.returned(4, 1, false) }, 4, false},
		{"it binds the five free workers, up to a batch", binds(t, 4), 0, false},
		{"that claim came back short too", func(s *claimState) { s.returned(4, 1, false) }, 0, false},
		{"a wake-up with no backlog: a claim at once", (*claimState).want, 4, false},
	})
}

// TestClaimStateSlowLateClaimsWaitTogether: while late claims wait long for
// the writer, a backlog keeps as many claims waiting as may be, without
// gathering workers first; each binds the workers free when its turn comes,
// maybe none, and one that bound none tells nothing of the backlog. Once
// claims are quick again, one waits at a time.
func TestClaimStateSlowLateClaimsWaitTogether(t *testing.T) {
	s := newClaimState(10, 10, 3, true)
	s.timed(true)
	runClaimSteps(t, s, []claimStep{
		{"a wake-up", (*claimState).want, 10, false},
		{"no backlog: one claim", func(*claimState) {}, 0, false},
		{"it holds the writer", binds(t, 10), 0, false},
		{"it came back full", func(s *claimState) { s.returned(10, 10, false) }, 0, false},
		{"four workers freed: a claim, without gathering", func(s *claimState) { s.freed(4) }, 4, false},
		{"a second claim waits beside it", func(*claimState) {}, 4, false},
		{"and a third", func(*claimState) {}, 4, false},
		{"three claims wait", func(*claimState) {}, 0, false},
		{"the first holds the writer: the four free workers", binds(t, 4), 0, false},
		{"the second holds the writer: no worker free", binds(t, 0), 0, false},
		{"the second came back: the backlog still waits", func(s *claimState) { s.returned(0, 0, false) }, 0, false},
		{"the first came back full", func(s *claimState) { s.returned(4, 4, false) }, 0, false},
		{"its workers freed: another claim", func(s *claimState) { s.freed(10) }, 10, false},
		{"claims are quick again: one waits at a time", func(s *claimState) { s.timed(false) }, 0, false},
	})
}

// binds returns a step that binds a late claim's workers, and checks it
// bound want.
func binds(t *testing.T, want int) func(s *claimState) {
	return func(s *claimState) {
		t.Helper()
		if got := s.bind(); got != want {
			t.Fatalf("bind() = %d, want %d (state %+v)", got, want, *s)
		}
	}
}

// TestClaimStateSecondClaimOverlapsTheFirst: with two claims allowed on
// their way (PostgreSQL), a backlog keeps two claims going, each sized to
// the workers free when it starts. A failed claim frees its workers and ends
// the backlog; the claim the backlog asked for still goes, once.
func TestClaimStateSecondClaimOverlapsTheFirst(t *testing.T) {
	runClaimSteps(t, newClaimState(10, 4, 2, false), []claimStep{
		{"a wake-up", (*claimState).want, 4, false},
		{"the first claim came back full", func(s *claimState) { s.returned(4, 4, false) }, 4, false},
		{"the second claim is on its way: a third may go", func(*claimState) {}, 2, false},
		{"two claims on their way", func(s *claimState) { s.freed(4) }, 0, false},
		{"one came back full", func(s *claimState) { s.returned(4, 4, false) }, 4, false},
		{"one failed: the backlog's wish still stands, once", func(s *claimState) { s.returned(2, 0, true) }, 2, false},
		{"one came back short", func(s *claimState) { s.returned(4, 1, false) }, 0, false},
		{"a wake-up", (*claimState).want, 3, false},
	})
}
