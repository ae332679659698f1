package sqlitedriver_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
)

// How SQLite's plan names the range scans of the pending indexes for one
// topic: of its due jobs of higher priorities than 0, of priority 0 (a
// range that ends at the claim's now), and of lower priorities; and the
// other steps of a claim: the pause checks, the look-ups of the claimed
// jobs by rowid, and the sort of the rows of several topics.
const (
	higherDue    = "SEARCH _jobs USING COVERING INDEX _jobs_pending_priority_idx (topic=? AND priority>?)"
	plainDue     = "SEARCH _jobs USING COVERING INDEX _jobs_pending_default_idx (topic=? AND run_at<?)"
	lowerDue     = "SEARCH _jobs USING COVERING INDEX _jobs_pending_priority_idx (topic=? AND priority<?)"
	pausedLookup = "SEARCH _jobs_paused_topics USING COVERING INDEX sqlite_autoindex__jobs_paused_topics_1 (topic=?)"
	keyLookup    = "SEARCH _jobs USING INTEGER PRIMARY KEY (rowid=?)"
	topicsSort   = "USE TEMP B-TREE FOR ORDER BY"
)

// TestClaimReadsEachTopicFromThePendingIndexes: with thousands of jobs of
// the claimed topics pending, thousands of another topic due before them,
// and a claimed topic with a few jobs due and backlogs of thousands of jobs
// each — due at a low priority, completed, and of the default priority but
// due only in a month — on a table analyzed and on one never analyzed, a
// claim reads each of its topics with three range scans of the pending
// indexes, merged in claim order, and looks up whether the topic is paused
// once per scan: it neither scans the table nor sorts any topic's jobs, and
// runs no subquery per row. The scan of priority 0 ends at the claim's now,
// so it reads nothing of the jobs due later, though fewer jobs are due than
// the limit; the scan of lower priorities comes last in claim order, so the
// merge reads no more of that backlog than the claim takes, and one row;
// completed jobs are in no pending index. With several topics, the few rows
// the topics bring are sorted once.
func TestClaimReadsEachTopicFromThePendingIndexes(t *testing.T) {
	write, read := openDB(t)
	d := sqlitedriver.New(write, read)
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	now := time.Now()
	var jobs []driver.InsertParams
	for i := range 5000 {
		jobs = append(jobs, driver.InsertParams{ID: fmt.Sprintf("f%05d", i), Topic: "foreign", Payload: []byte(`{}`),
			RunAt: now.Add(-time.Hour - time.Duration(i)*time.Millisecond), Now: now})
	}
	jobs = append(jobs, handledJobs(now)...)
	if _, err := d.Insert(t.Context(), jobs); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	addBacklogs(t, write, "backlogged", now)
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if _, err := write.NewQuery(`ANALYZE`).Execute(); err != nil {
				t.Fatalf("ANALYZE: %v", err)
			}
		}
		for _, topics := range [][]string{{"t0"}, {"t0", "t1", "t2"}, {"backlogged"}, {"t0", "backlogged"}} {
			plan, err := sqlitedriver.ExplainClaim(t.Context(), d, claimOf(topics, now))
			if err != nil {
				t.Fatalf("explain the claim of %v: %v", topics, err)
			}
			if problems := claimPlanProblems(plan, len(topics)); len(problems) > 0 {
				t.Errorf("analyzed %v: the claim of %v does not read each topic from the pending indexes, and only that:\n%s\n%s",
					analyzed, topics, strings.Join(problems, "\n"), plan)
			}
		}
	}
}

// addBacklogs adds to topic, in one statement each, a job due at priority
// 5 and two due at priority 0, and backlogs of backlogSize jobs each: due at
// priority -1, completed, and of priority 0 due in a month.
func addBacklogs(t *testing.T, db *dbx.DB, topic string, now time.Time) {
	t.Helper()
	for _, jobs := range []struct {
		name   string
		count  int
		values string // status, run_at and priority of job n
	}{
		{"high", 1, `'pending', {:now} - n, 5`},
		{"plain", 2, `'pending', {:now} - n, 0`},
		{"low", backlogSize, `'pending', {:now} - 3600000000 - n, -1`},
		{"completed", backlogSize, `'completed', {:now} - 3600000000 - n, 0`},
		{"delayed", backlogSize, `'pending', {:now} + 2592000000000 + n, 0`},
	} {
		_, err := db.NewQuery(`WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {:count})
			INSERT INTO _jobs (id, topic, payload, status, run_at, priority, created, updated)
			SELECT {:name} || n, {:topic}, '{}', ` + jobs.values + `, {:now}, {:now} FROM seq`).
			Bind(dbx.Params{"name": jobs.name, "count": jobs.count, "topic": topic, "now": now.UnixMicro()}).Execute()
		if err != nil {
			t.Fatalf("add the %s jobs: %v", jobs.name, err)
		}
	}
}

// backlogSize is the size of each backlog of addBacklogs: large enough for
// the statistics of an analyzed table to tell of them. What the test checks
// is the plan, whatever the sizes; BenchmarkClaimPastBacklogs of the jobs
// package times claims past backlogs of 100,000 jobs.
const backlogSize = 5000

// claimPlanProblems returns what is wrong with plan, the plan of a claim
// of `topics` topics.
func claimPlanProblems(plan string, topics int) []string {
	var problems []string
	steps := map[string]int{higherDue: topics, plainDue: topics, lowerDue: topics, pausedLookup: 3 * topics, keyLookup: 1}
	if topics > 1 {
		steps[topicsSort] = 1
	}
	for step, want := range steps {
		if got := strings.Count(plan, step); got != want {
			problems = append(problems, fmt.Sprintf("%d steps %q, want %d", got, step, want))
		}
	}
	for _, line := range strings.Split(plan, "\n") {
		line = strings.TrimSpace(line)
		if strings.Contains(line, " _jobs ") && steps[line] == 0 {
			problems = append(problems, "reads the jobs otherwise: "+line)
		}
		if strings.Contains(line, "TEMP B-TREE") && line != topicsSort || strings.Contains(line, "CORRELATED") {
			problems = append(problems, line)
		}
	}
	return problems
}

// claimOf is a claim at now of up to 10 jobs of topics, up to 5 of each.
func claimOf(topics []string, now time.Time) driver.ClaimParams {
	p := driver.ClaimParams{Limit: 10, Now: now}
	for _, topic := range topics {
		p.Topics = append(p.Topics, driver.ClaimTopic{Topic: topic, Limit: 5, LockedUntil: now.Add(time.Minute)})
	}
	return p
}

// TestLookAheadsSeekThePendingIndexes: with thousands of pending jobs, of
// priority 0 and of others, the look-ahead to the next delayed job seeks
// each pending index on (topic, run_at) once per topic, and looking for the
// topics that wait seeks each once per topic (and once more for its oldest
// job): neither scans the table.
func TestLookAheadsSeekThePendingIndexes(t *testing.T) {
	d, _, now := withJobsOfEveryPriority(t)
	nextRunAt, err := sqlitedriver.ExplainNextRunAt(t.Context(), d, driver.NextRunAtParams{Topics: []string{"t0", "t1"}})
	if err != nil {
		t.Fatalf("explain NextRunAt: %v", err)
	}
	waitingTopics, err := sqlitedriver.ExplainWaitingTopics(t.Context(), d, driver.WaitingParams{RunnableSince: now})
	if err != nil {
		t.Fatalf("explain WaitingTopics: %v", err)
	}
	for name, plan := range map[string]string{"NextRunAt": nextRunAt, "WaitingTopics": waitingTopics} {
		for _, step := range jobSteps(plan) {
			if !pendingSeek.MatchString(step) {
				t.Errorf("%s reads the jobs otherwise than by seeking the pending indexes (%q):\n%s", name, step, plan)
			}
		}
	}
}

// withJobsOfEveryPriority returns a driver over a fresh database, and its
// write handle, with the jobs of handledJobs stored at priorities -1, 0 and
// 1 in turn, and the time they were made due by.
func withJobsOfEveryPriority(t *testing.T) (*sqlitedriver.Driver, *dbx.DB, time.Time) {
	t.Helper()
	write, read := openDB(t)
	d := sqlitedriver.New(write, read)
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	now := time.Now()
	jobs := handledJobs(now)
	for i := range jobs {
		jobs[i].Priority = i%3 - 1
	}
	if _, err := d.Insert(t.Context(), jobs); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	return d, write, now
}

// jobSteps returns the steps of plan that read the job table, trimmed.
func jobSteps(plan string) []string {
	var steps []string
	for _, line := range strings.Split(plan, "\n") {
		if strings.Contains(line+" ", " _jobs ") {
			steps = append(steps, strings.TrimSpace(line))
		}
	}
	return steps
}

// TestStatsReadsOnlyIndexesOfEachStatus: with jobs of every status and
// priority stored, Stats counts them without reading the table: every step
// of its plan reads a covering index.
func TestStatsReadsOnlyIndexesOfEachStatus(t *testing.T) {
	d, write, _ := withJobsOfEveryPriority(t)
	_, err := write.NewQuery(`UPDATE _jobs SET status = CASE (rowid / 2) % 4 WHEN 0 THEN 'processing' WHEN 1 THEN 'completed'
		WHEN 2 THEN 'failed' ELSE 'cancelled' END WHERE rowid % 2 = 0`).Execute()
	if err != nil {
		t.Fatalf("move jobs to every status: %v", err)
	}
	plan, err := sqlitedriver.ExplainStats(t.Context(), d)
	if err != nil {
		t.Fatalf("explain Stats: %v", err)
	}
	for _, step := range jobSteps(plan) {
		if !strings.Contains(step, " USING COVERING INDEX ") {
			t.Errorf("Stats reads the table (%q):\n%s", step, plan)
		}
	}
}

// pendingSeek matches a seek of one of the pending indexes on (topic,
// run_at): SQLite's plan tells a seek (SEARCH) from a scan (SCAN).
var pendingSeek = regexp.MustCompile(`^\s*SEARCH _jobs USING (COVERING )?INDEX (_jobs_pending_default_idx|_jobs_pending_priority_run_at_idx)\b`)

// handledJobs returns 3,000 jobs runnable at now, of the topics t0, t1 and
// t2 in turn.
func handledJobs(now time.Time) []driver.InsertParams {
	jobs := make([]driver.InsertParams, 3000)
	for i := range jobs {
		jobs[i] = driver.InsertParams{ID: fmt.Sprintf("j%05d", i), Topic: fmt.Sprint("t", i%3), Payload: []byte(`{}`),
			RunAt: now.Add(-time.Duration(i) * time.Millisecond), Now: now}
	}
	return jobs
}
