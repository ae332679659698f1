package sqlitedriver_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
)

// How SQLite's plan names the range scans of the runnable index for one
// topic: of the jobs due before the topic's last job within its limit (and
// of the look-up of that job), and of the jobs due with it, up to it.
const (
	runnableBefore = "SEARCH _jobs USING INDEX _jobs_runnable_topic_idx (topic=? AND run_at<?)"
	runnableWith   = "SEARCH _jobs USING INDEX _jobs_runnable_topic_idx (topic=? AND run_at=? AND rowid<?)"
	lastWithin     = "SEARCH _jobs USING COVERING INDEX _jobs_runnable_topic_idx (topic=? AND run_at<?)"
	pausedLookup   = "SEARCH _jobs_paused_topics USING COVERING INDEX sqlite_autoindex__jobs_paused_topics_1 (topic=?)"
	keyLookup      = "SEARCH _jobs USING COVERING INDEX sqlite_autoindex__jobs_1 (id=?)"
)

// TestClaimReadsEachTopicFromTheRunnableIndex: with thousands of jobs of
// the claimed topics pending and thousands of another topic due before
// them, on a table analyzed and on one never analyzed, a claim reads each
// of its topics with range scans of the runnable index, merged in run_at
// order, and looks up whether the topic is paused once: it neither scans
// the table nor sorts, and runs no subquery per row.
func TestClaimReadsEachTopicFromTheRunnableIndex(t *testing.T) {
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
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if _, err := write.NewQuery(`ANALYZE`).Execute(); err != nil {
				t.Fatalf("ANALYZE: %v", err)
			}
		}
		for _, topics := range [][]string{{"t0"}, {"t0", "t1", "t2"}} {
			plan, err := sqlitedriver.ExplainClaim(t.Context(), d, claimOf(topics, now))
			if err != nil {
				t.Fatalf("explain the claim of %v: %v", topics, err)
			}
			if problems := claimPlanProblems(plan, len(topics)); len(problems) > 0 {
				t.Errorf("analyzed %v: the claim of %v does not read each topic from the runnable index, and only that:\n%s\n%s",
					analyzed, topics, strings.Join(problems, "\n"), plan)
			}
		}
	}
}

// claimPlanProblems returns what is wrong with plan, the plan of a claim
// of `topics` topics.
func claimPlanProblems(plan string, topics int) []string {
	var problems []string
	steps := map[string]int{runnableBefore: topics, runnableWith: topics, lastWithin: 3 * topics, pausedLookup: 2 * topics}
	for step, want := range steps {
		if got := strings.Count(plan, step); got != want {
			problems = append(problems, fmt.Sprintf("%d steps %q, want %d", got, step, want))
		}
	}
	for _, line := range strings.Split(plan, "\n") {
		line = strings.TrimSpace(line)
		if strings.Contains(line, " _jobs ") && steps[line] == 0 && line != keyLookup {
			problems = append(problems, "reads the jobs otherwise: "+line)
		}
		if strings.Contains(line, "TEMP B-TREE") || strings.Contains(line, "CORRELATED") {
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

// TestWaitingTopicsSeeksTheRunnableIndex: with thousands of pending jobs,
// looking for the topics that wait seeks the runnable index once per topic
// (and once more for its oldest job): it never scans the table.
func TestWaitingTopicsSeeksTheRunnableIndex(t *testing.T) {
	write, read := openDB(t)
	d := sqlitedriver.New(write, read)
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	now := time.Now()
	if _, err := d.Insert(t.Context(), handledJobs(now)); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	plan, err := sqlitedriver.ExplainWaitingTopics(t.Context(), d, driver.WaitingParams{RunnableSince: now})
	if err != nil {
		t.Fatalf("explain WaitingTopics: %v", err)
	}
	for _, line := range strings.Split(plan, "\n") {
		if strings.Contains(line, " _jobs ") && !strings.Contains(line, "SEARCH _jobs USING COVERING INDEX _jobs_runnable_topic_idx") {
			t.Fatalf("WaitingTopics reads the jobs otherwise than by seeking the runnable index (%q):\n%s", strings.TrimSpace(line), plan)
		}
	}
}

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
