package drivertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// testClaimTopicsAndRunAt: a claim takes only pending jobs of its topics
// that are due, and marks each as claimed.
func testClaimTopicsAndRunAt(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d,
		driver.InsertParams{ID: "a1", Topic: "a", Payload: []byte(`1`), RunAt: t0.Add(-2 * time.Minute), MaxRetries: 1, Now: t0},
		driver.InsertParams{ID: "b1", Topic: "b", Payload: []byte(`2`), RunAt: t0.Add(-time.Minute), MaxRetries: 1, Now: t0},
		driver.InsertParams{ID: "c1", Topic: "c", Payload: []byte(`3`), RunAt: t0.Add(-3 * time.Minute), MaxRetries: 1, Now: t0},
		driver.InsertParams{ID: "a2", Topic: "a", Payload: []byte(`4`), RunAt: t0.Add(time.Minute), MaxRetries: 1, Now: t0},
	)
	rows := claim(t, d, claimOf(t0, t0.Add(lock), 10, "a", "b"))
	wantIDs(t, "claimed", sortedIDs(rows), []string{"a1", "b1"})
	for _, r := range rows {
		want := get(t, d, r.ID)
		wantRow(t, "claimed row vs stored", r, want)
		if r.Status != driver.StatusProcessing || r.Attempts != 1 || r.LockVersion <= 0 {
			t.Fatalf("claimed %s: status %s, attempts %d, lock version %d; want processing, 1, above 0",
				r.ID, r.Status, r.Attempts, r.LockVersion)
		}
		wantTime(t, r.ID+": LockedUntil", r.LockedUntil, t0.Add(lock))
		wantTime(t, r.ID+": Updated", r.Updated, t0)
		wantTime(t, r.ID+": Created", r.Created, t0)
	}

	again := claim(t, d, claimOf(t0, t0.Add(lock), 10, "a", "b"))
	wantIDs(t, "claimed again at the same time", idsOf(again), []string{})

	// Due exactly at now counts as due.
	later := claim(t, d, claimOf(t0.Add(time.Minute), t0.Add(lock), 10, "a", "b"))
	wantIDs(t, "claimed when a2 is due", idsOf(later), []string{"a2"})
	if st := get(t, d, "c1").Status; st != driver.StatusPending {
		t.Fatalf("c1 of an unclaimed topic is %s, want pending", st)
	}
}

// testClaimOrderAndLimit: a claim takes at most Limit jobs, the earliest
// run_at first, and returns them in run_at order.
func testClaimOrderAndLimit(t *testing.T, s *suite) {
	d := s.open(t)
	offsets := map[string]time.Duration{"j3": 3, "j1": 1, "j5": 5, "j2": 2, "j4": 4}
	for id, minutes := range offsets {
		p := job(id, t0.Add(-10*time.Minute+minutes*time.Minute))
		p.Topic = "t"
		insert(t, d, p)
	}
	p := claimOf(t0, t0.Add(lock), 2, "t")
	wantIDs(t, "first claim", idsOf(claim(t, d, p)), []string{"j1", "j2"})
	wantIDs(t, "second claim", idsOf(claim(t, d, p)), []string{"j3", "j4"})
	wantIDs(t, "third claim", idsOf(claim(t, d, p)), []string{"j5"})
	wantIDs(t, "fourth claim", idsOf(claim(t, d, p)), []string{})
	insert(t, d, job("x3", t0.Add(-time.Second)), job("x1", t0.Add(-3*time.Second)), job("x2", t0.Add(-2*time.Second)))
	p = claimOf(t0, t0.Add(lock), 10, "x1", "x2", "x3")
	wantIDs(t, "claim of three", idsOf(claim(t, d, p)), []string{"x1", "x2", "x3"})
}

// testClaimPassesForeignBacklog: with thousands of jobs of another topic
// due before them, claims take the due jobs of their topics, across
// topics, earliest first, and NextRunAt sees past the others too.
func testClaimPassesForeignBacklog(t *testing.T, s *suite) {
	d := s.open(t)
	foreign := make([]driver.InsertParams, 5000)
	for i := range foreign {
		foreign[i] = job(fmt.Sprintf("foreign%04d", i), t0.Add(-time.Hour+time.Duration(i)*time.Millisecond))
		foreign[i].Topic = "foreign"
	}
	insert(t, d, foreign...)
	// Nine due jobs, j1 earliest, dealt round the topics a, b and c; one of
	// a not due yet; and one more foreign job due among them.
	var ids []string
	for i := 1; i <= 9; i++ {
		p := job(fmt.Sprint("j", i), t0.Add(-time.Minute+time.Duration(i)*time.Second))
		p.Topic = []string{"a", "b", "c"}[i%3]
		insert(t, d, p)
		ids = append(ids, p.ID)
	}
	late := job("late", t0.Add(time.Second))
	late.Topic = "a"
	stray := job("stray", t0.Add(-time.Minute+4500*time.Millisecond))
	stray.Topic = "foreign"
	insert(t, d, late, stray)

	next, err := d.NextRunAt(t.Context(), driver.NextRunAtParams{Topics: []string{"a", "b", "c"}})
	if err != nil {
		t.Fatalf("NextRunAt: %v", err)
	}
	wantTime(t, "NextRunAt", next, t0.Add(-time.Minute+time.Second))
	p := claimOf(t0, t0.Add(lock), 4, "c", "a", "b")
	wantIDs(t, "first claim", idsOf(claim(t, d, p)), ids[:4])
	wantIDs(t, "second claim", idsOf(claim(t, d, p)), ids[4:8])
	wantIDs(t, "third claim", idsOf(claim(t, d, p)), ids[8:])
	wantIDs(t, "fourth claim", idsOf(claim(t, d, p)), []string{})
	if got := get(t, d, "stray"); got.Status != driver.StatusPending {
		t.Fatalf("a job of another topic is %s, want pending", got.Status)
	}
}

// testClaimAcrossManyTopics: a claim of hundreds of topics takes the
// earliest due jobs of all of them.
func testClaimAcrossManyTopics(t *testing.T, s *suite) {
	d := s.open(t)
	const topics = 600
	jobs := make([]driver.InsertParams, topics)
	names := make([]string, topics)
	for i := range jobs {
		// Topic i holds one job, due i milliseconds before t0.
		jobs[i] = job(fmt.Sprintf("t%03d", i), t0.Add(-time.Duration(i)*time.Millisecond))
		names[i] = jobs[i].Topic
	}
	insert(t, d, jobs...)
	next, err := d.NextRunAt(t.Context(), driver.NextRunAtParams{Topics: names})
	if err != nil {
		t.Fatalf("NextRunAt: %v", err)
	}
	wantTime(t, "NextRunAt", next, t0.Add(-(topics-1)*time.Millisecond))
	p := claimOf(t0, t0.Add(lock), 3, names...)
	wantIDs(t, "first claim", idsOf(claim(t, d, p)), []string{"t599", "t598", "t597"})
	p = claimOf(t0, t0.Add(lock), 3, names[:topics/2]...)
	wantIDs(t, "claim of half the topics", idsOf(claim(t, d, p)), []string{"t299", "t298", "t297"})
}

// testClaimNothing: a claim without topics or room takes nothing.
func testClaimNothing(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, job("a", t0))
	wantIDs(t, "claim with limit 0", idsOf(claim(t, d, claimOf(t0, t0.Add(lock), 0, "a"))), []string{})
	wantIDs(t, "claim without topics", idsOf(claim(t, d, claimOf(t0, t0.Add(lock), 5))), []string{})
	if st := get(t, d, "a").Status; st != driver.StatusPending {
		t.Fatalf("job is %s after empty claims, want pending", st)
	}
}

// testLateClaim: a late claim (ClaimParams.Bind) calls Bind once and claims
// what it returns, whatever its other fields say; one whose Bind returns
// outcomes and no worker writes the outcomes and claims nothing.
func testLateClaim(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, topicJob("a1", "a", t0), topicJob("a2", "a", t0.Add(time.Second)), topicJob("b1", "b", t0))
	p := claimOf(t0, t0.Add(lock), 10, "b")
	binds := 0
	p.Bind = func() driver.ClaimParams {
		binds++
		return claimOf(t0, t0.Add(lock), 1, "a")
	}
	rows := claim(t, d, p)
	wantIDs(t, "late claim", idsOf(rows), []string{"a1"})
	if binds != 1 {
		t.Fatalf("the late claim bound %d times, want once", binds)
	}

	outcomeOnly := driver.ClaimParams{Bind: func() driver.ClaimParams {
		binds++
		return driver.ClaimParams{Now: t0.Add(time.Minute), Outcomes: []driver.Outcome{
			{ID: "a1", LockVersion: rows[0].LockVersion, Status: driver.StatusCompleted},
		}}
	}}
	wantIDs(t, "late claim of no worker", idsOf(claim(t, d, outcomeOnly)), []string{})
	if binds != 2 {
		t.Fatalf("the late claims bound %d times, want twice", binds)
	}
	if st := get(t, d, "a1").Status; st != driver.StatusCompleted {
		t.Fatalf("job completed by a late claim's outcome is %s", st)
	}
	for _, id := range []string{"a2", "b1"} {
		if st := get(t, d, id).Status; st != driver.StatusPending {
			t.Fatalf("job %s, which no late claim bound, is %s, want pending", id, st)
		}
	}
}

// testConcurrentClaims: many claimers racing over one table never receive
// the same job, and together claim every job.
func testConcurrentClaims(t *testing.T, s *suite) { concurrentClaims(t, s, false) }

// testConcurrentLateClaims is testConcurrentClaims with late claims
// (ClaimParams.Bind), from the first claim of a fresh driver on, as the
// claim loop makes them on a database with one writer.
func testConcurrentLateClaims(t *testing.T, s *suite) { concurrentClaims(t, s, true) }

// concurrentClaims races claimers, late ones or not, over one table.
func concurrentClaims(t *testing.T, s *suite, late bool) {
	d := s.open(t)
	const jobs, claimers, limit = 300, 8, 7
	batch := make([]driver.InsertParams, jobs)
	for i := range batch {
		batch[i] = job(fmt.Sprintf("j%03d", i), t0.Add(time.Duration(i%17)*time.Millisecond))
		batch[i].Topic = "t"
	}
	insert(t, d, batch...)

	var (
		mu      sync.Mutex
		owner   = map[string]int{}
		doubles []string
		wg      sync.WaitGroup
		errs    = make(chan error, claimers)
	)
	for c := range claimers {
		p := claimOf(t0.Add(time.Second), t0.Add(lock), limit, "t")
		if late {
			bound := p
			p = driver.ClaimParams{Bind: func() driver.ClaimParams { return bound }}
		}
		wg.Go(func() {
			for {
				rows, err := d.Claim(t.Context(), p)
				if err != nil {
					errs <- err
					return
				}
				if len(rows) == 0 {
					return
				}
				mu.Lock()
				for _, r := range rows {
					if prev, taken := owner[r.ID]; taken {
						doubles = append(doubles, fmt.Sprintf("%s (claimers %d and %d)", r.ID, prev, c))
					}
					owner[r.ID] = c
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Claim: %v", err)
	}
	if len(doubles) > 0 {
		t.Fatalf("%d jobs claimed twice, among them %v", len(doubles), doubles[:min(len(doubles), 5)])
	}
	if len(owner) != jobs {
		t.Fatalf("claimed %d jobs, want %d", len(owner), jobs)
	}
	st, err := d.Stats(t.Context())
	if err != nil || st != (driver.Stats{Processing: jobs}) {
		t.Fatalf("Stats = %+v, %v; want %d processing", st, err, jobs)
	}
}

// testClaimTopicLimits: a claim takes at most each topic's own limit of
// it, and at most its own limit in all, the earliest due first across
// topics; a topic without room gives none. A topic's limit holds among
// jobs due at the same instant, as a batch enqueued at once is.
func testClaimTopicLimits(t *testing.T, s *suite) {
	d := s.open(t)
	// Due in the order b1, a1, b2, a2, …, b5, a5, a minute apart.
	for i := 1; i <= 5; i++ {
		insert(t, d,
			topicJob(fmt.Sprint("a", i), "a", t0.Add(time.Duration(2*i-11)*time.Minute)),
			topicJob(fmt.Sprint("b", i), "b", t0.Add(time.Duration(2*i-12)*time.Minute)))
	}
	claimOfAB := func(limit, limitA, limitB int) []string {
		t.Helper()
		return idsOf(claim(t, d, driver.ClaimParams{Limit: limit, Now: t0, Topics: []driver.ClaimTopic{
			{Topic: "a", Limit: limitA, LockedUntil: t0.Add(lock)},
			{Topic: "b", Limit: limitB, LockedUntil: t0.Add(lock)},
		}}))
	}
	wantIDs(t, "claim of 4, at most 1 of b", claimOfAB(4, 10, 1), []string{"b1", "a1", "a2", "a3"})
	wantIDs(t, "claim of 10, at most 1 of a", claimOfAB(10, 1, 10), []string{"b2", "b3", "b4", "a4", "b5"})
	wantIDs(t, "claim of 10, no room for a", claimOfAB(10, 0, 10), []string{})
	wantIDs(t, "claim of 10, no room for b", claimOfAB(10, 10, 0), []string{"a5"})

	// Five jobs of one topic due at one instant, three of another after.
	insert(t, d,
		topicJob("same1", "same", t0), topicJob("same2", "same", t0), topicJob("same3", "same", t0),
		topicJob("same4", "same", t0), topicJob("same5", "same", t0),
		topicJob("next1", "next", t0.Add(time.Second)), topicJob("next2", "next", t0.Add(2*time.Second)),
		topicJob("next3", "next", t0.Add(3*time.Second)))
	now := t0.Add(time.Minute)
	for _, want := range []int{2, 2, 1, 0} {
		rows := claim(t, d, driver.ClaimParams{Limit: 10, Now: now, Topics: []driver.ClaimTopic{
			{Topic: "same", Limit: 2, LockedUntil: now.Add(lock)},
			{Topic: "next", Limit: 10, LockedUntil: now.Add(lock)},
		}})
		same := 0
		for _, r := range rows {
			if r.Topic == "same" {
				same++
			}
		}
		if same != want {
			t.Fatalf("a claim of at most 2 jobs due at one instant took %d of them (%v), want %d", same, idsOf(rows), want)
		}
	}
	if st, err := d.Stats(t.Context()); err != nil || st != (driver.Stats{Processing: 18}) {
		t.Fatalf("Stats = %+v, %v; want every job processing", st, err)
	}
}

// testClaimTopicLocks: each claimed job is locked until its own topic's
// LockedUntil.
func testClaimTopicLocks(t *testing.T, s *suite) {
	d := s.open(t)
	insert(t, d, topicJob("a1", "a", t0), topicJob("a2", "a", t0), topicJob("b1", "b", t0), topicJob("c1", "c", t0))
	locks := map[string]time.Time{"a": t0.Add(time.Minute), "b": t0.Add(time.Hour), "c": t0.Add(time.Microsecond)}
	p := driver.ClaimParams{Limit: 10, Now: t0}
	for _, topic := range []string{"a", "b", "c"} {
		p.Topics = append(p.Topics, driver.ClaimTopic{Topic: topic, Limit: 10, LockedUntil: locks[topic]})
	}
	rows := claim(t, d, p)
	wantIDs(t, "claimed", sortedIDs(rows), []string{"a1", "a2", "b1", "c1"})
	for _, r := range rows {
		wantTime(t, r.ID+": claimed LockedUntil", r.LockedUntil, locks[r.Topic])
		wantTime(t, r.ID+": stored LockedUntil", get(t, d, r.ID).LockedUntil, locks[r.Topic])
	}
}
