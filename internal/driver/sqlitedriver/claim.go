package sqlitedriver

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Claims and look-aheads read the pending jobs of the topics this process
// handles, and no others: one range scan per topic of the runnable index,
// on (topic, run_at) over pending jobs, merged by run_at. However many jobs
// of other topics wait — handled by another process, or by none — a claim
// never reads them, and it reads none of a paused topic.

// Claim locks up to p.Limit runnable jobs in one statement, at most each
// topic's own limit of each topic, each locked until its topic's
// LockedUntil. The statement runs under SQLite's single write lock, so the
// subquery's status check holds for the update; the outer WHERE matches by
// primary key only, which keeps the claim range scans of the runnable index
// plus key lookups. RETURNING gives no order, so the rows are sorted by
// run_at here.
func (d *Driver) Claim(ctx context.Context, p driver.ClaimParams) ([]driver.JobRow, error) {
	p.Topics = withRoom(p.Topics)
	if p.Limit <= 0 || len(p.Topics) == 0 {
		return nil, nil
	}
	stmt := d.claimStmts.forTopics(len(p.Topics))
	var rows []driver.JobRow
	err := stmt.use(d.write, stmt.sql, func(q *dbx.Query) error {
		var err error
		rows, err = queryRows(q.WithContext(ctx).Bind(claimParams(p)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	slices.SortStableFunc(rows, func(a, b driver.JobRow) int { return a.RunAt.Compare(b.RunAt) })
	return rows, nil
}

// withRoom returns the topics whose limit leaves room for a job: a claim
// takes nothing of the others.
func withRoom(topics []driver.ClaimTopic) []driver.ClaimTopic {
	return slices.DeleteFunc(slices.Clone(topics), func(t driver.ClaimTopic) bool { return t.Limit <= 0 })
}

// claimSQL locks the earliest runnable jobs of `topics` topics, the topic
// numbered i bound as {:topic<i>}, with its limit {:limit<i>} and its lock
// expiry {:locked_until<i>}: the SQL depends on the number of topics only.
//
// Each topic has arms of its own, range scans of the runnable index in
// run_at order (see topicArms), and the arms are merged by run_at: SQLite
// runs each arm as a co-routine and the merge pulls from them only the rows
// it keeps, so a claim reads about {:limit} index entries in all, without
// sorting (and, for each topic whose own limit is below the claim's, up to
// three times that limit more, to find where the topic's arms end). SQLite
// has no LATERAL join; a correlated form over json_each (one statement for
// any number of topics) would collect every arm's rows and sort them, which
// makes even a one-topic claim about three times as slow, and claims are the
// hot path: so one statement per number of topics, prepared once each. It
// binds 22 parameters per topic, and SQLite takes 32,766 at most: a claim
// covers up to about 1,480 topics.
//
// The limit is written "{:limit} + 0" on purpose: SQLite reads a bare bound
// LIMIT while it compiles the statement and marks the statement expired
// whenever that parameter is bound again, so every claim would compile it
// anew (a fifth of the claim's time); an expression is evaluated when the
// statement runs.
func claimSQL(topics int) string {
	return `UPDATE _jobs
	SET status = 'processing', attempts = attempts + 1, lock_version = lock_version + 1,
		locked_until = ` + topicLock(topics) + `, updated = {:now}
	WHERE id IN (SELECT id FROM (
	` + earliestDue(topics) + `
	))
	RETURNING ` + jobColumns
}

// topicLock is the lock expiry of a claimed job: its topic's.
func topicLock(topics int) string {
	var b strings.Builder
	b.WriteString("CASE topic")
	for i := range topics {
		n := strconv.Itoa(i)
		b.WriteString(" WHEN {:topic" + n + "} THEN {:locked_until" + n + "}")
	}
	b.WriteString(" END")
	return b.String()
}

// maxArms is the most arms one compound SELECT merges: SQLite refuses a
// compound of more terms (SQLITE_LIMIT_COMPOUND_SELECT). Beyond maxArms
// arms, they are merged in groups, and the groups merged in turn, each
// group sorting the few rows it keeps.
const maxArms = 500

// earliestDue selects the id and run_at of the {:limit} earliest due
// pending jobs of `topics` topics, two arms per topic.
func earliestDue(topics int) string {
	var arms []string
	for i := range topics {
		arms = append(arms, topicArms(strconv.Itoa(i))...)
	}
	for len(arms) > maxArms {
		var groups []string
		for group := range slices.Chunk(arms, maxArms) {
			groups = append(groups, `SELECT id, run_at FROM (`+mergedByRunAt(group)+`)`)
		}
		arms = groups
	}
	return mergedByRunAt(arms)
}

// topicArms are the arms of the topic numbered n, which together hold its
// due jobs up to its limit, in the runnable index's order (run_at, then
// rowid): the jobs due before its last job within the limit, and those due
// at the same time as that job, up to it — so that a limit holds among jobs
// due at one instant, as a batch enqueued at once is. The last job within
// the limit is looked for only when the topic's limit is below the claim's
// (otherwise the claim's own limit is the topic's); when it is not looked
// for, or fewer jobs are due than the limit, the first arm holds every due
// job and the second none.
//
// A LIMIT of the topic's own on its arm would be simpler, but the arm would
// then be a subquery, and SQLite merges the order of index scans, not the
// order of subqueries: each would be sorted in a temporary B-tree, which
// makes a claim of several topics about ten times as slow.
//
// An arm of a paused topic reads nothing: its pause check is a constant of
// the statement, evaluated before its scan.
func topicArms(n string) []string {
	last := func(column string) string {
		return `(SELECT ` + column + ` FROM _jobs INDEXED BY _jobs_runnable_topic_idx
			WHERE status = 'pending' AND topic = {:topic` + n + `} AND run_at <= {:now}
			ORDER BY run_at, rowid LIMIT ({:limit` + n + `} < {:limit}) OFFSET {:limit` + n + `} - 1)`
	}
	arm := func(bound string) string {
		return `SELECT id, run_at FROM _jobs INDEXED BY _jobs_runnable_topic_idx
		WHERE status = 'pending' AND topic = {:topic` + n + `} AND ` + bound + `
			AND NOT EXISTS (SELECT 1 FROM _jobs_paused_topics WHERE topic = {:topic` + n + `})`
	}
	return []string{
		arm(`run_at < COALESCE(` + last("run_at") + `, {:now} + 1)`),
		arm(`run_at = ` + last("run_at") + ` AND rowid <= ` + last("rowid")),
	}
}

// mergedByRunAt makes arms, SELECTs of id and run_at, one compound that
// keeps the {:limit} earliest of their rows.
func mergedByRunAt(arms []string) string {
	return strings.Join(arms, "\n\tUNION ALL ") + "\n\tORDER BY run_at LIMIT {:limit} + 0"
}

// claimParams are the parameters of claimSQL for p.
func claimParams(p driver.ClaimParams) dbx.Params {
	params := dbx.Params{
		"now":   micros(p.Now),
		"limit": p.Limit,
	}
	for i, topic := range p.Topics {
		n := strconv.Itoa(i)
		params["topic"+n] = topic.Topic
		params["limit"+n] = topic.Limit
		params["locked_until"+n] = lockMicros(topic.LockedUntil)
	}
	return params
}

// claimStatements holds the claim statement of each number of topics seen,
// each prepared on first use. A process claims with one set of topics at a
// time, so it holds few.
type claimStatements struct {
	mu       sync.Mutex
	byTopics map[int]*claimStatement
}

// claimStatement is claimSQL for one number of topics.
type claimStatement struct {
	prepared
	sql string
}

// forTopics returns the claim statement for `topics` topics.
func (c *claimStatements) forTopics(topics int) *claimStatement {
	c.mu.Lock()
	defer c.mu.Unlock()
	stmt, ok := c.byTopics[topics]
	if !ok {
		if c.byTopics == nil {
			c.byTopics = make(map[int]*claimStatement)
		}
		stmt = &claimStatement{sql: claimSQL(topics)}
		c.byTopics[topics] = stmt
	}
	return stmt
}

// close releases every prepared statement.
func (c *claimStatements) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, stmt := range c.byTopics {
		stmt.close()
	}
}

// nextRunAtSQL reads, for each topic of a JSON array that is not paused,
// the earliest run_at of its pending jobs — one step into the runnable
// index — and returns the earliest of them, or NULL.
const nextRunAtSQL = `SELECT MIN((
		SELECT run_at FROM _jobs INDEXED BY _jobs_runnable_topic_idx
		WHERE status = 'pending' AND topic = t.value
		ORDER BY run_at LIMIT 1
	))
	FROM json_each({:topics}) AS t
	WHERE NOT EXISTS (SELECT 1 FROM _jobs_paused_topics WHERE topic = t.value)`

// NextRunAt returns the earliest run_at among pending jobs of the topics,
// paused topics left out: the dispatcher would wake for them in vain.
func (d *Driver) NextRunAt(ctx context.Context, p driver.NextRunAtParams) (time.Time, error) {
	if len(p.Topics) == 0 {
		return time.Time{}, nil
	}
	encoded, err := json.Marshal(p.Topics)
	if err != nil {
		return time.Time{}, fmt.Errorf("encode topics: %w", err)
	}
	var next sql.NullInt64
	err = d.read.NewQuery(nextRunAtSQL).WithContext(ctx).Bind(dbx.Params{"topics": string(encoded)}).Row(&next)
	if err != nil {
		return time.Time{}, fmt.Errorf("read next run time: %w", err)
	}
	if !next.Valid {
		return time.Time{}, nil
	}
	return fromMicros(next.Int64), nil
}
