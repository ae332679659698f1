package pgdriver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

// TestClaimReadsEachTopicFromTheRunnableIndex: with thousands of jobs of
// the claimed topics pending and thousands of another topic due before
// them, on a table never analyzed (whose statistics count no pending job)
// and on an analyzed one with a topic paused, a claim reads each of its
// topics from the runnable index in run_at order and stops at its limit,
// once it found the topic is not paused: it neither scans nor sorts the
// backlog, of its topics or of the other, and compiles nothing.
func TestClaimReadsEachTopicFromTheRunnableIndex(t *testing.T) {
	dsn := pgtest.DSN(t)
	d := openMigrated(t, dsn)
	now := time.Now()
	// A claim on an empty table, as every process's first one is.
	checkClaimPlan(t, d, "empty", claimOf([]string{"t0"}, now))
	var jobs []driver.InsertParams
	for i := range 5000 {
		jobs = append(jobs, driver.InsertParams{ID: fmt.Sprintf("f%05d", i), Topic: "foreign", Payload: []byte(`{}`),
			RunAt: now.Add(-time.Hour - time.Duration(i)*time.Millisecond), Now: now})
	}
	jobs = append(jobs, handledJobs(now)...)
	if _, err := d.Insert(t.Context(), jobs); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	for _, table := range []string{"never analyzed", "analyzed"} {
		if table == "analyzed" {
			if err := d.SetPaused(t.Context(), driver.PauseParams{Topic: "t1", Paused: true, Now: now}); err != nil {
				t.Fatalf("SetPaused: %v", err)
			}
			analyze(t, dsn)
		}
		for _, topics := range [][]string{{"t0"}, {"t0", "t1", "t2"}} {
			checkClaimPlan(t, d, table, claimOf(topics, now))
		}
	}
}

// claimOf is a claim at now of up to 10 jobs of topics, up to 5 of each.
func claimOf(topics []string, now time.Time) driver.ClaimParams {
	p := driver.ClaimParams{Limit: 10, Now: now}
	for _, topic := range topics {
		p.Topics = append(p.Topics, driver.ClaimTopic{Topic: topic, Limit: 5, LockedUntil: now.Add(time.Minute)})
	}
	return p
}

// analyze gathers the statistics of the job table of dsn.
func analyze(t *testing.T, dsn string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `ANALYZE _jobs, _jobs_paused_topics`); err != nil {
		t.Fatalf("ANALYZE: %v", err)
	}
}

// checkClaimPlan fails t unless the plan of the claim p reads each topic
// from the runnable index, and only that, without JIT.
func checkClaimPlan(t *testing.T, d *pgdriver.Driver, table string, p driver.ClaimParams) {
	t.Helper()
	explained, err := pgdriver.ExplainClaim(t.Context(), d, p)
	if err != nil {
		t.Fatalf("explain the claim of %v: %v", p.Topics, err)
	}
	var plans []struct {
		Plan planNode
		JIT  any
	}
	if err := json.Unmarshal([]byte(explained), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("read the plan (%v):\n%s", err, explained)
	}
	problems, runnableReads := plans[0].Plan.check(nil)
	if runnableReads == 0 {
		problems = append(problems, "no read of the runnable index")
	}
	if plans[0].JIT != nil {
		problems = append(problems, "compiled with JIT")
	}
	if len(problems) > 0 {
		t.Errorf("%s table: the claim of %v does not read each topic from the runnable index, and only that:\n%s\n%s",
			table, p.Topics, strings.Join(problems, "\n"), explained)
	}
}

// planNode is one node of a plan in EXPLAIN's JSON format.
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	IndexCond    string     `json:"Index Cond"`
	Plans        []planNode `json:"Plans"`
}

// check returns what is wrong with n and the nodes under it, whose
// ancestors, nearest last, are above, and how many of them read the
// runnable index. Every read of _jobs must go through an index: the primary
// key (to update the claimed rows), or the runnable index by topic, with a
// limit before any sort above it, once the topic was found not paused.
func (n planNode) check(above []planNode) (problems []string, runnableReads int) {
	if n.RelationName == "_jobs" && n.NodeType != "ModifyTable" {
		switch {
		case n.readsByKey():
		case n.IndexName == "_jobs_runnable_topic_idx" && (n.NodeType == "Index Scan" || n.NodeType == "Index Only Scan"):
			runnableReads++
			if !strings.Contains(n.IndexCond, "topic =") {
				problems = append(problems, "runnable index read without a topic: "+n.IndexCond)
			}
			if nearest(above, "Limit", "Sort") != "Limit" {
				problems = append(problems, "runnable index read without a limit before any sort")
			}
			if !pauseCheckedFirst(above) {
				problems = append(problems, "runnable index read before the pause check")
			}
		default:
			problems = append(problems, strings.TrimSpace(n.NodeType+" of _jobs "+n.IndexName))
		}
	}
	for _, child := range n.Plans {
		p, r := child.check(append(above, n))
		problems, runnableReads = append(problems, p...), runnableReads+r
	}
	return problems, runnableReads
}

// readsByKey tells whether n reads _jobs through its primary key, directly
// or as a bitmap.
func (n planNode) readsByKey() bool {
	if n.NodeType == "Bitmap Heap Scan" {
		return len(n.Plans) == 1 && n.Plans[0].NodeType == "Bitmap Index Scan" && n.Plans[0].IndexName == "_jobs_pkey"
	}
	return n.NodeType == "Index Scan" && n.IndexName == "_jobs_pkey"
}

// pauseCheckedFirst tells whether the nearest join among above, the one
// that reads a topic's jobs for each topic, reads the paused topics on its
// outer side, before it reads the jobs.
func pauseCheckedFirst(above []planNode) bool {
	for i := len(above) - 1; i >= 0; i-- {
		if above[i].NodeType == "Nested Loop" {
			return above[i].Plans[0].reads("_jobs_paused_topics")
		}
	}
	return false
}

// reads tells whether n or a node under it reads the relation.
func (n planNode) reads(relation string) bool {
	if n.RelationName == relation {
		return true
	}
	return slices.ContainsFunc(n.Plans, func(child planNode) bool { return child.reads(relation) })
}

// nearest returns the type of the nearest node of one of types among
// above, or "".
func nearest(above []planNode, types ...string) string {
	for i := len(above) - 1; i >= 0; i-- {
		if slices.Contains(types, above[i].NodeType) {
			return above[i].NodeType
		}
	}
	return ""
}

// TestWaitingTopicsSeeksTheRunnableIndex: with thousands of pending jobs,
// on a table never analyzed and on an analyzed one, looking for the topics
// that wait reads the runnable index (a seek per topic), never the table
// as a whole.
func TestWaitingTopicsSeeksTheRunnableIndex(t *testing.T) {
	dsn := pgtest.DSN(t)
	d := openMigrated(t, dsn)
	now := time.Now()
	if _, err := d.Insert(t.Context(), handledJobs(now)); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	for _, table := range []string{"never analyzed", "analyzed"} {
		if table == "analyzed" {
			analyze(t, dsn)
		}
		plan, err := pgdriver.ExplainWaitingTopics(t.Context(), d, driver.WaitingParams{RunnableSince: now})
		if err != nil {
			t.Fatalf("explain WaitingTopics: %v", err)
		}
		if jobsSeqScan.MatchString(plan) || !strings.Contains(plan, "_jobs_runnable_topic_idx") {
			t.Errorf("%s table: WaitingTopics does not seek the runnable index:\n%s", table, plan)
		}
	}
}

// jobsSeqScan matches a sequential scan of the job table (not of
// _jobs_paused_topics, which is small).
var jobsSeqScan = regexp.MustCompile(`Seq Scan on _jobs\b`)

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
