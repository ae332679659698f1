package sqlitedriver_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
)

// runnableRead is how SQLite's plan names a range scan of the runnable
// index for one topic, up to the claim's time.
const runnableRead = "SEARCH _jobs USING INDEX _jobs_runnable_topic_idx (topic=? AND run_at<?)"

// TestClaimReadsEachTopicFromTheRunnableIndex: with thousands of jobs of
// the claimed topics pending and thousands of another topic due before
// them, on a table analyzed and on one never analyzed, a claim reads each
// of its topics with a range scan of the runnable index, merged in run_at
// order: it neither scans the table nor sorts.
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
			plan, err := sqlitedriver.ExplainClaim(t.Context(), d, driver.ClaimParams{Topics: topics, Limit: 10, Now: now, LockedUntil: now.Add(time.Minute)})
			if err != nil {
				t.Fatalf("explain the claim of %v: %v", topics, err)
			}
			if strings.Count(plan, runnableRead) != len(topics) || strings.Contains(plan, "SCAN _jobs") || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("analyzed %v: the claim of %v does not read each topic from the runnable index, and only that:\n%s",
					analyzed, topics, plan)
			}
		}
	}
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
