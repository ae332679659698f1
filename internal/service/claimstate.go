package service

// claimState is what the claim loop knows when it decides whether to claim:
// the free workers, the claims on their way, and why a claim is wanted. The
// loop changes it through its methods as events come in, and asks next what
// to do; the decision itself is a pure function of the state.
//
// Every claim reserves the workers it may fill, so jobs never outnumber free
// workers. While a backlog waits (the last claim came back full), a claim
// waits until at least minClaim workers are free — on a database with one
// writer, every worker a claim can fill — or the gather timer rang, so a
// busy queue claims in batches instead of one job per freed worker. With
// one writer, claims take turns at it, and a claim's turn costs much the
// same for one job as for a full batch (its transaction, its commit):
// there a claim of half a batch would cost as much as a full one while
// running beside nothing.
//
// On a database with one writer, claims are late: a claim reserves its
// workers only once it holds the writer (bind), so no worker idles while
// its claim waits behind the app's writes, and a claim takes every worker
// that freed up meanwhile. While claims wait long for the writer (slow),
// several wait at once: the writer is handed to one waiter at a time, so
// each more claim waiting is one more turn the queue gets, and each takes
// the workers free when its turn comes; otherwise one claim waits at a
// time.
type claimState struct {
	// batchSize is the most jobs one claim takes.
	batchSize int
	// minClaim is the fewest free workers a claim waits for while a
	// backlog waits: half a batch, or on a database with one writer every
	// worker a claim can fill.
	minClaim int
	// maxInFlight is how many claims may be on their way at once.
	maxInFlight int

	// free counts the workers that run no job and are not reserved by a
	// claim on its way.
	free int
	// inFlight counts the claims on their way.
	inFlight int
	// wanted is set when a wake-up, a poll, a timer or a full claim asked
	// for a claim that was not made yet.
	wanted bool
	// backlog is set when the last claim came back full: more jobs wait.
	backlog bool
	// gathering is set while the gather timer runs; gathered once it rang.
	gathering, gathered bool
	// pacing is set while the loop waits in its turn after a claim that
	// found the database busy (see paceAfter): claims wait, unless a
	// backlog does.
	pacing bool
	// late is set on a database with one writer: claims bind their
	// workers when they hold the writer, not when they go.
	late bool
	// slow is set while late claims wait long for the writer (see
	// slowClaim): then up to maxInFlight wait at once, and a backlog's
	// claim does not gather workers first, since more free up while it
	// waits.
	slow bool
}

// newClaimState returns the state of a loop with workers free workers, on a
// database with one writer or not (see driver.Driver.OneWriter).
func newClaimState(workers, batchSize, maxInFlight int, oneWriter bool) claimState {
	fullClaim := min(batchSize, workers)
	minClaim := max(1, fullClaim/2)
	if oneWriter {
		minClaim = fullClaim
	}
	return claimState{
		batchSize:   batchSize,
		minClaim:    minClaim,
		maxInFlight: maxInFlight,
		free:        workers,
		late:        oneWriter,
	}
}

// next decides what to do now: claim limit jobs (limit > 0); or nothing but
// start the gather timer (gather), when a backlog waits for more workers to
// free up; or nothing.
//
// A late claim's limit is what it could fill if it held the writer now;
// it binds its workers later (see bind).
func (s claimState) next() (limit int, gather bool) {
	if !s.wanted || s.free == 0 || s.inFlight >= s.inFlightLimit() || (s.pacing && !s.backlog) {
		return 0, false
	}
	if s.backlog && s.free < s.minClaim && !s.gathered && !(s.late && s.slow) {
		return 0, !s.gathering
	}
	return min(s.free, s.batchSize), false
}

// inFlightLimit is how many claims may be on their way now: maxInFlight,
// but one late claim at a time unless claims are slow.
func (s claimState) inFlightLimit() int {
	if s.late && !s.slow {
		return 1
	}
	return s.maxInFlight
}

// want asks for a claim.
func (s *claimState) want() {
	s.wanted = true
}

// claimed records a claim of limit jobs put on its way. It answers every
// wish for a claim so far; while a backlog waits, more claims follow as
// workers free up. It ends the gathering, whose timer the loop stops: the
// next claim gathers anew, so a timer started for this claim cannot ring
// for the next one and cut its wait short.
//
// An early claim reserves its workers now; a late one when it binds.
func (s *claimState) claimed(limit int) {
	if !s.late {
		s.free -= limit
	}
	s.inFlight++
	s.wanted, s.gathering, s.gathered = s.backlog, false, false
}

// bind reserves the workers of a late claim that holds the writer: as many
// as are free, up to a batch, maybe none.
func (s *claimState) bind() (limit int) {
	limit = min(s.free, s.batchSize)
	s.free -= limit
	return limit
}

// returned records a claim of limit jobs that came back with got jobs, or
// failed: the workers it did not fill are free again. A full claim means
// more jobs may wait, and asks for another. A late claim that bound no
// worker (limit 0) tells nothing of a backlog.
func (s *claimState) returned(limit, got int, failed bool) {
	s.inFlight--
	s.free += limit - got
	if limit == 0 && !failed {
		return
	}
	s.backlog = !failed && got == limit
	if s.backlog {
		s.wanted = true
	}
}

// freed records n workers that finished their jobs.
func (s *claimState) freed(n int) {
	s.free += n
}

// paced records that the loop waits in its turn after a slow claim.
func (s *claimState) paced() {
	s.pacing = true
}

// paceEnded records that the loop's turn came.
func (s *claimState) paceEnded() {
	s.pacing = false
}

// timed records whether claims wait long for the writer now.
func (s *claimState) timed(slow bool) {
	s.slow = slow
}

// gatherStarted records that the gather timer was started.
func (s *claimState) gatherStarted() {
	s.gathering = true
}

// gatherRang records that the gather timer rang: the next claim takes
// however few workers are free.
func (s *claimState) gatherRang() {
	s.gathering, s.gathered = false, true
}
