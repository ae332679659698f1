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

// TestClaimReadsEachTopicFromThePendingIndexes: with thousands of jobs of
// the claimed topics pending, thousands of another topic due before them,
// and a claimed topic with a few jobs due and backlogs of 100,000 jobs each
// — due at a low priority, completed, and of the default priority but due
// only in a month — on a table never analyzed (whose statistics count no
// pending job) and on an analyzed one with a topic paused, a claim reads
// each of its topics with three range scans of the pending indexes, each in
// its index's order and stopping at its limit, once it found the topic is
// not paused: it neither scans nor sorts the backlogs, of its topics or of
// the other, and compiles nothing. Run, it reads a few pages of each index:
// nothing of the jobs due later (the scan of priority 0 ends at the claim's
// now, though fewer jobs are due than the limit), no more of the
// low-priority backlog than the room the other scans left, and nothing of
// the completed jobs, which are in no pending index; a claim of one topic
// locks no more rows than it may claim.
func TestClaimReadsEachTopicFromThePendingIndexes(t *testing.T) {
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
	addBacklogs(t, dsn, "backlogged", now)
	for _, table := range []string{"never analyzed", "analyzed"} {
		if table == "analyzed" {
			if err := d.SetPaused(t.Context(), driver.PauseParams{Topic: "t1", Paused: true, Now: now}); err != nil {
				t.Fatalf("SetPaused: %v", err)
			}
			analyze(t, dsn)
		}
		for _, topics := range [][]string{{"t0"}, {"t0", "t1", "t2"}, {"backlogged"}, {"t0", "backlogged"}} {
			checkClaimPlan(t, d, table, claimOf(topics, now))
			checkClaimReads(t, d, table, claimOf(topics, now))
		}
	}
}

// addBacklogs adds to topic of the database at dsn, in one statement each,
// a job due at priority 5 and two due at priority 0, and backlogs of 100,000
// jobs each: due at priority -1, completed, and of priority 0 due in a
// month.
func addBacklogs(t *testing.T, dsn, topic string, now time.Time) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	for _, jobs := range []struct {
		name   string
		count  int
		values string // status, run_at and priority of job n
	}{
		{"high", 1, `'pending', $3::timestamptz - n * interval '1 ms', 5`},
		{"plain", 2, `'pending', $3::timestamptz - n * interval '1 ms', 0`},
		{"low", 100000, `'pending', $3::timestamptz - interval '1 hour' - n * interval '1 ms', -1`},
		{"completed", 100000, `'completed', $3::timestamptz - interval '1 hour' - n * interval '1 ms', 0`},
		{"delayed", 100000, `'pending', $3::timestamptz + interval '30 days' + n * interval '1 ms', 0`},
	} {
		_, err := conn.Exec(t.Context(), `INSERT INTO _jobs (id, topic, payload, status, run_at, priority, created, updated)
			SELECT $1 || n, $2, '{}', `+jobs.values+`, $3, $3 FROM generate_series(1, $4::integer) AS n`,
			jobs.name, topic, now, jobs.count)
		if err != nil {
			t.Fatalf("add the %s jobs: %v", jobs.name, err)
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
// from the pending indexes, and only that, without JIT.
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
	problems, scans := plans[0].Plan.check(nil)
	for _, scan := range pendingScans {
		if scans[scan] != 1 {
			problems = append(problems, fmt.Sprintf("%d scans of %s, want 1", scans[scan], scan))
		}
	}
	if plans[0].JIT != nil {
		problems = append(problems, "compiled with JIT")
	}
	if len(problems) > 0 {
		t.Errorf("%s table: the claim of %v does not read each topic from the pending indexes, and only that:\n%s\n%s",
			table, p.Topics, strings.Join(problems, "\n"), explained)
	}
}

// pendingScans are the range scans of the pending indexes a claim runs for
// each topic, as check names them: of its due jobs of higher priorities
// than 0, of priority 0 (a range that ends at the claim's now), and of
// lower priorities.
var pendingScans = []string{
	"_jobs_pending_priority_idx (priority >)",
	"_jobs_pending_default_idx (run_at <=)",
	"_jobs_pending_priority_idx (priority <)",
}

// readBudget is the most pages of the job table and its indexes that one
// scan of a claim may read: a claim of a few jobs reads a few index pages,
// and the heap pages of the jobs it locks. 100,000 index entries take
// hundreds of pages.
const readBudget = 40

// checkClaimReads fails t unless the claim p, run (and rolled back), reads
// no more than readBudget pages in any scan of the pending indexes, and,
// of one topic, fetches (and so locks) no more rows than its limit.
func checkClaimReads(t *testing.T, d *pgdriver.Driver, table string, p driver.ClaimParams) {
	t.Helper()
	explained, err := pgdriver.ExplainAnalyzeClaim(t.Context(), d, p)
	if err != nil {
		t.Fatalf("run the claim of %v: %v", p.Topics, err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(explained), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("read the plan (%v):\n%s", err, explained)
	}
	fetched := 0
	for _, scan := range plans[0].Plan.pendingIndexScans() {
		if pages := scan.SharedHitBlocks + scan.SharedReadBlocks; pages > readBudget {
			t.Errorf("%s table: the claim of %v read %d pages in its %s of %s, more than %d:\n%s",
				table, p.Topics, pages, scan.NodeType, scan.IndexName, readBudget, explained)
		}
		fetched += scan.ActualRows
	}
	if len(p.Topics) == 1 && fetched > p.Topics[0].Limit {
		t.Errorf("%s table: the claim of %v fetched and locked %d rows, more than its limit %d:\n%s",
			table, p.Topics, fetched, p.Topics[0].Limit, explained)
	}
}

// planNode is one node of a plan in EXPLAIN's JSON format.
type planNode struct {
	NodeType         string     `json:"Node Type"`
	RelationName     string     `json:"Relation Name"`
	IndexName        string     `json:"Index Name"`
	IndexCond        string     `json:"Index Cond"`
	ActualRows       int        `json:"Actual Rows"`
	SharedHitBlocks  int        `json:"Shared Hit Blocks"`
	SharedReadBlocks int        `json:"Shared Read Blocks"`
	Plans            []planNode `json:"Plans"`
}

// check returns what is wrong with n and the nodes under it, whose
// ancestors, nearest last, are above, and counts the scans of the pending
// indexes among them, by pendingScans' names. Every read of _jobs must go
// through an index: the primary key (to update the claimed rows), or a
// pending index by topic, with a limit before any sort above it, once the
// topic was found not paused.
func (n planNode) check(above []planNode) (problems []string, scans map[string]int) {
	scans = make(map[string]int)
	if n.RelationName == "_jobs" && n.NodeType != "ModifyTable" {
		switch {
		case n.readsByKey():
		case n.pendingScan() != "":
			scans[n.pendingScan()]++
			if !strings.Contains(n.IndexCond, "topic =") {
				problems = append(problems, "pending index read without a topic: "+n.IndexCond)
			}
			if nearest(above, "Limit", "Sort") != "Limit" {
				problems = append(problems, "pending index read without a limit before any sort")
			}
			if !pauseCheckedFirst(above) {
				problems = append(problems, "pending index read before the pause check")
			}
		default:
			problems = append(problems, strings.TrimSpace(n.NodeType+" of _jobs "+n.IndexName+" "+n.IndexCond))
		}
	}
	for _, child := range n.Plans {
		p, s := child.check(append(above, n))
		problems = append(problems, p...)
		for scan, count := range s {
			scans[scan] += count
		}
	}
	return problems, scans
}

// pendingScan returns the name pendingScans gives n, or "" when n is none
// of those scans.
func (n planNode) pendingScan() string {
	if n.NodeType != "Index Scan" && n.NodeType != "Index Only Scan" {
		return ""
	}
	for _, scan := range pendingScans {
		index, bound, _ := strings.Cut(strings.TrimSuffix(scan, ")"), " (")
		if n.IndexName == index && strings.Contains(n.IndexCond, bound) {
			return scan
		}
	}
	return ""
}

// pendingIndexScans returns the nodes of n and under it that scan a pending
// index.
func (n planNode) pendingIndexScans() []planNode {
	var scans []planNode
	if n.RelationName == "_jobs" && strings.HasPrefix(n.IndexName, "_jobs_pending_") {
		scans = append(scans, n)
	}
	for _, child := range n.Plans {
		scans = append(scans, child.pendingIndexScans()...)
	}
	return scans
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

// TestLookAheadsSeekThePendingIndexes: with thousands of pending jobs, of
// priority 0 and of others, on a table never analyzed and on an analyzed
// one, the look-ahead to the next delayed job and the look for the topics
// that wait read each pending index on (topic, run_at) (a seek per topic),
// never the table as a whole.
func TestLookAheadsSeekThePendingIndexes(t *testing.T) {
	dsn := pgtest.DSN(t)
	d := openMigrated(t, dsn)
	now := time.Now()
	jobs := handledJobs(now)
	for i := range jobs {
		jobs[i].Priority = i%3 - 1
	}
	if _, err := d.Insert(t.Context(), jobs); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	for _, table := range []string{"never analyzed", "analyzed"} {
		if table == "analyzed" {
			analyze(t, dsn)
		}
		nextRunAt, err := pgdriver.ExplainNextRunAt(t.Context(), d, driver.NextRunAtParams{Topics: []string{"t0", "t1"}})
		if err != nil {
			t.Fatalf("explain NextRunAt: %v", err)
		}
		waitingTopics, err := pgdriver.ExplainWaitingTopics(t.Context(), d, driver.WaitingParams{RunnableSince: now})
		if err != nil {
			t.Fatalf("explain WaitingTopics: %v", err)
		}
		for name, plan := range map[string]string{"NextRunAt": nextRunAt, "WaitingTopics": waitingTopics} {
			if jobsSeqScan.MatchString(plan) || !strings.Contains(plan, "_jobs_pending_default_idx") ||
				!strings.Contains(plan, "_jobs_pending_priority_run_at_idx") {
				t.Errorf("%s table: %s does not seek the pending indexes:\n%s", table, name, plan)
			}
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
