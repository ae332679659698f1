package sqlitedriver

import (
	"cmp"
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
// handles, and no others, through the pending indexes: those of the
// default priority 0 by (topic, run_at, id), the others by (topic, priority
// DESC, run_at, id) and by (topic, run_at). However many jobs of other
// topics wait — handled by another process, or by none — a claim never
// reads them, and it reads none of a paused topic.

// Claim writes p.Outcomes and locks up to p.Limit runnable jobs, at most
// each topic's own limit of each topic, each locked until its topic's
// LockedUntil, in one transaction: a busy queue pays one commit for the
// ends of its last jobs and its next ones. The claim reads the jobs it
// chooses (claimSQL) and then moves each to processing by key
// (claimOneSQL): statements with no RETURNING and no subquery to hold,
// which would make SQLite build a temporary table for every claim. The
// transaction holds the write lock from its start (see writeTx), so the
// jobs read are still pending when they are locked.
//
// A late claim (p.Bind) binds once the transaction holds the write lock,
// as the claim loop's claims all do; any claim takes a writer turn, even
// one that turns out to have nothing to write. The claim statement, which
// depends on the number of topics, is prepared for the number of topics of
// the last claim; a claim of another number compiles its own in the
// transaction, and leaves it prepared for the next.
func (d *Driver) Claim(ctx context.Context, p driver.ClaimParams) ([]driver.JobRow, error) {
	bind := p.Bind
	if bind == nil {
		bind = func() driver.ClaimParams { return p }
	}
	stmts := []*statement{&d.stmts.finishOne, &d.stmts.claimOne}
	if choose := d.stmts.claims.latest(); choose != nil {
		stmts = append(stmts, choose)
	}
	var rows []driver.JobRow
	err := d.writeTx(ctx, stmts, func(ctx context.Context, db *sql.DB, tx *sql.Tx) error {
		p := bind()
		p.Topics = withRoom(p.Topics)
		if _, err := d.finishIn(ctx, db, tx, p.Outcomes, p.Now); err != nil {
			return err
		}
		if p.Limit <= 0 || len(p.Topics) == 0 {
			return nil
		}
		var err error
		rows, err = d.claimIn(ctx, db, tx, d.stmts.claims.forTopics(len(p.Topics)), p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return rows, nil
}

// claimIn chooses the jobs of claim p with the statement choose and moves
// each to processing, in tx, and returns them as they are now.
func (d *Driver) claimIn(ctx context.Context, db *sql.DB, tx *sql.Tx, choose *statement, p driver.ClaimParams) ([]driver.JobRow, error) {
	read, err := choose.in(ctx, db, tx)
	if err != nil {
		return nil, err
	}
	rows, err := read.QueryContext(ctx, claimArgs(p)...)
	if err != nil {
		return nil, err
	}
	chosen, rowids, err := scanChosen(rows, p.Limit)
	if err != nil {
		return nil, err
	}
	update, err := d.stmts.claimOne.in(ctx, db, tx)
	if err != nil {
		return nil, err
	}
	locks := make(map[string]int64, len(p.Topics))
	for _, t := range p.Topics {
		locks[t.Topic] = lockMicros(t.LockedUntil)
	}
	now := micros(p.Now)
	claimed := chosen[:0]
	for i, row := range chosen {
		res, err := update.ExecContext(ctx, sql.Named("rowid", rowids[i]), sql.Named("locked_until", locks[row.Topic]), sql.Named("now", now))
		if err != nil {
			return nil, err
		}
		// Read and written in one transaction that holds the write lock:
		// the job is pending still.
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("lock job %s: %w", row.ID, err)
		}
		if n != 1 {
			return nil, fmt.Errorf("lock job %s: %d rows changed, want 1", row.ID, n)
		}
		row.Status = driver.StatusProcessing
		row.Attempts++
		row.LockVersion++
		row.LockedUntil = fromLockMicros(locks[row.Topic])
		row.Updated = fromMicros(now)
		claimed = append(claimed, row)
	}
	slices.SortFunc(claimed, claimOrder)
	return claimed, nil
}

// scanChosen scans the rows of claimSQL, and closes them: the jobs a claim
// of up to limit jobs chose, and their rowids, by which the claim locks
// them (one seek into the table, where an id would take a seek into the
// id's index first).
func scanChosen(rows *sql.Rows, limit int) ([]driver.JobRow, []int64, error) {
	defer rows.Close()
	chosen, rowids := make([]driver.JobRow, 0, limit), make([]int64, 0, limit)
	for rows.Next() {
		var rowid int64
		row, err := scanJob(rows, &rowid)
		if err != nil {
			return nil, nil, err
		}
		chosen, rowids = append(chosen, row), append(rowids, rowid)
	}
	return chosen, rowids, rows.Err()
}

// withRoom returns the topics whose limit leaves room for a job: a claim
// takes nothing of the others.
func withRoom(topics []driver.ClaimTopic) []driver.ClaimTopic {
	return slices.DeleteFunc(slices.Clone(topics), func(t driver.ClaimTopic) bool { return t.Limit <= 0 })
}

// claimOrder orders claimed rows as a claim chooses them: highest priority
// first, then earliest run_at, then id.
func claimOrder(a, b driver.JobRow) int {
	return cmp.Or(cmp.Compare(b.Priority, a.Priority), a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID))
}

// claimSQL reads the first runnable jobs, in claim order, of `topics`
// topics, the topic numbered i bound as :topic<i> with its limit :limit<i>
// (at most the claim's :limit): the SQL depends on the number of topics
// only, and is prepared once for each. The chosen jobs are joined to the
// table by rowid, in the order chosen, and their rowids read first.
//
// Each topic's jobs are a compound of range scans merged in claim order
// (see topicDue), which stops at the topic's limit. With one topic, as most
// processes have, that is the claim; with more, the few rows each topic
// brings are sorted and the claim takes the :limit first: it reads at most
// every topic's limit of index entries, and sorts no more rows.
//
// SQLite has no LATERAL join; a correlated form over json_each (one
// statement for any number of topics) would collect every topic's due jobs
// and sort them, so one statement per number of topics. It binds 3
// parameters per topic, and SQLite takes 32,766 at most.
//
// Limits are written ":limit + 0" on purpose: SQLite reads a bare bound
// LIMIT while it compiles the statement and marks the statement expired
// whenever that parameter is bound again, so every claim would compile it
// anew (a fifth of the claim's time); an expression is evaluated when the
// statement runs.
func claimSQL(topics int) string {
	return `SELECT _jobs.rowid, ` + jobColumns + ` FROM (` + firstDue(topics) + `) AS due
	CROSS JOIN _jobs ON _jobs.rowid = due.job_rowid`
}

// claimOneSQL moves one chosen job, by its rowid, to processing, locked
// until :locked_until, counting its attempt and bumping its lock_version.
const claimOneSQL = `UPDATE _jobs
	SET status = 'processing', attempts = attempts + 1, lock_version = lock_version + 1,
		locked_until = :locked_until, updated = :now
	WHERE rowid = :rowid AND status = 'pending'`

// maxTerms is the most SELECTs one compound SELECT joins: SQLite refuses a
// compound of more terms (SQLITE_LIMIT_COMPOUND_SELECT). Beyond maxTerms
// topics, their SELECTs are joined in groups, and the groups in turn.
const maxTerms = 500

// firstDue selects the rowids (job_rowid) of the :limit first due pending
// jobs, in claim order, of `topics` topics, at most each topic's limit of
// each.
func firstDue(topics int) string {
	if topics == 1 {
		return `SELECT job_rowid FROM (` + topicDue("0") + `)`
	}
	terms := make([]string, topics)
	for i := range terms {
		terms[i] = `SELECT job_rowid, id, priority, run_at FROM (` + topicDue(strconv.Itoa(i)) + `)`
	}
	for len(terms) > maxTerms {
		var groups []string
		for group := range slices.Chunk(terms, maxTerms) {
			groups = append(groups, `SELECT job_rowid, id, priority, run_at FROM (`+unionAll(group)+`)`)
		}
		terms = groups
	}
	return `SELECT job_rowid FROM (` + unionAll(terms) + `)
	ORDER BY priority DESC, run_at, id LIMIT :limit + 0`
}

// topicDue selects the rowid (job_rowid), id, priority and run_at of the
// :limit<n> first due pending jobs of the topic numbered n, in claim order:
// three range scans, each in the order of its index, merged. SQLite runs
// each scan as a co-routine and the merge pulls from them only the rows it
// keeps, so the topic costs about :limit<n> index entries, without
// sorting.
//
// The jobs of priority 0 are read from their own index up to the first one
// not due yet: jobs scheduled ahead, however many, cost nothing. Those of
// higher priorities, and those of lower ones, are read from theirs in
// priority order, their run_at checked entry by entry: jobs of a priority
// other than 0 scheduled ahead are read by every claim of their topic
// until it finds enough due ones, so great numbers of them make those
// claims slower. Jobs of priority 0 are the common case, reminders
// scheduled weeks ahead included.
//
// Each scan of a paused topic reads nothing: its pause check is a constant
// of the statement, evaluated before the scan.
func topicDue(n string) string {
	scan := func(index, priority string) string {
		return `SELECT rowid AS job_rowid, id, priority, run_at FROM _jobs INDEXED BY ` + index + `
		WHERE status = 'pending' AND ` + priority + ` AND topic = :topic` + n + ` AND run_at <= :now
			AND NOT EXISTS (SELECT 1 FROM _jobs_paused_topics WHERE topic = :topic` + n + `)`
	}
	return unionAll([]string{
		// "priority <> 0" is the index's own condition: SQLite uses a
		// partial index only for a query that states it.
		scan("_jobs_pending_priority_idx", "priority <> 0 AND priority > 0"),
		scan("_jobs_pending_default_idx", "priority = 0"),
		scan("_jobs_pending_priority_idx", "priority <> 0 AND priority < 0"),
	}) + `
	ORDER BY priority DESC, run_at, id LIMIT :limit` + n + ` + 0`
}

// unionAll joins SELECTs into one compound SELECT.
func unionAll(selects []string) string {
	return strings.Join(selects, "\n\tUNION ALL ")
}

// claimArgs are the parameters of claimSQL for p.
func claimArgs(p driver.ClaimParams) []any {
	args := make([]any, 0, 2+2*len(p.Topics))
	args = append(args, sql.Named("now", micros(p.Now)), sql.Named("limit", p.Limit))
	for i, topic := range p.Topics {
		n := strconv.Itoa(i)
		args = append(args, sql.Named("topic"+n, topic.Topic), sql.Named("limit"+n, min(topic.Limit, p.Limit)))
	}
	return args
}

// claimStatements holds the claim statement of each number of topics seen.
// A process claims with one set of topics at a time, so it holds few.
type claimStatements struct {
	mu       sync.Mutex
	byTopics map[int]*statement
	// last is the statement asked for last.
	last *statement
}

// forTopics returns the claim statement for `topics` topics.
func (c *claimStatements) forTopics(topics int) *statement {
	c.mu.Lock()
	defer c.mu.Unlock()
	stmt, ok := c.byTopics[topics]
	if !ok {
		if c.byTopics == nil {
			c.byTopics = make(map[int]*statement)
		}
		stmt = &statement{sql: claimSQL(topics)}
		c.byTopics[topics] = stmt
	}
	c.last = stmt
	return stmt
}

// latest returns the claim statement asked for last, or nil before the
// first.
func (c *claimStatements) latest() *statement {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
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
// the earliest run_at of its pending jobs of priority 0 and that of its
// pending jobs of other priorities — one step into each of their indexes
// on (topic, run_at) — and returns the earliest of them, or NULL.
const nextRunAtSQL = `WITH handled(topic) AS (
		SELECT t.value FROM json_each({:topics}) AS t
		WHERE NOT EXISTS (SELECT 1 FROM _jobs_paused_topics WHERE topic = t.value)
	)
	SELECT MIN(next) FROM (
		SELECT (
			SELECT run_at FROM _jobs INDEXED BY _jobs_pending_default_idx
			WHERE status = 'pending' AND priority = 0 AND topic = h.topic
			ORDER BY run_at LIMIT 1
		) AS next FROM handled AS h
		UNION ALL
		SELECT (
			SELECT run_at FROM _jobs INDEXED BY _jobs_pending_priority_run_at_idx
			WHERE status = 'pending' AND priority <> 0 AND topic = h.topic
			ORDER BY run_at LIMIT 1
		) FROM handled AS h
	)`

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
