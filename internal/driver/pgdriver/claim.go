package pgdriver

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Claims and look-aheads read the pending jobs of the topics this process
// handles, and no others, through the pending indexes: those of the
// default priority 0 by (topic, run_at, id), the others by (topic, priority
// DESC, run_at, id) and by (topic, run_at). However many jobs of other
// topics wait — handled by another process, or by none — a claim never
// reads them, and it reads none of a paused topic.

// claimSQL locks runnable jobs of the topics $2, each with its own limit
// ($3) and lock expiry ($4), skipping those another claim holds, and moves
// them to processing in the same statement, in claim order: highest
// priority first, then earliest run_at, then id.
//
// Each topic, once found not paused, is an arm of a LATERAL join, whose
// jobs are three range scans, each in the order of its index, that lock
// the rows they can lock, skipping the others: higher (priorities above
// 0) up to the topic's limit (and no more than the claim's, $5), then
// plain (priority 0) up to what higher left of the limit, then lower
// (priorities below 0) up to what both left. So a topic locks its first
// jobs in claim order, no more, and reads a scan only when the scans
// before it left room. The jobs of priority 0 are read up to the first one
// not due yet: jobs scheduled ahead, however many, cost nothing. Those of
// higher priorities, and those of lower ones, are read in priority order,
// their run_at checked entry by entry: jobs of a priority other than 0
// scheduled ahead are read by every claim of their topic that reaches
// their scan, until it finds enough due ones, so great numbers of them
// make those claims slower. Jobs of priority 0 are the common case,
// reminders scheduled weeks ahead included. (A merge of the three scans,
// stopping at the limit, would need no counts, but PostgreSQL takes the
// rows FOR UPDATE locks as unordered, and would sort all they bring.)
//
// The topics' rows are then sorted and the $5 first claimed. So a claim of
// several topics may lock more rows than it keeps: those stay pending and
// are unlocked when the statement commits, a moment later. Meanwhile a
// concurrent claim skips them and takes the next ones, so no job is
// claimed twice and none is lost; a job may only be taken a claim later
// than its place in claim order alone would say. With one topic, as most
// processes have, a claim locks exactly what it claims.
//
// The claimed rows are then updated by key, id = ANY of the claimed ids: a
// read of the primary key whatever the statistics say, where a join with the
// CTE could become, in the generic plan claims run (see genericPlan), a hash
// join over the whole table. Each row's lock expiry is its topic's, found by
// the topic's place in $2: a look-up in the few topics of the claim, where
// carrying it from the arm would take a join with the CTE, or a scan of the
// CTE for each row.
//
// The new lock_version is at least one more than the old, and at least the
// claim's time in microseconds ($6): a claim undone by a server crash (its
// commit is asynchronous) is not repeated with the same number, so the
// outcome of the undone claim, still reported by a worker that outlived the
// crash, cannot pass for the outcome of the next claim of the job.
const claimSQL = `WITH claimable AS (
		SELECT c.id AS claim_id
		FROM unnest($2::text[], $3::integer[]) AS t(topic, lim)
		CROSS JOIN LATERAL (
			WITH higher AS (
				SELECT id, priority, run_at FROM _jobs
				WHERE status = 'pending' AND priority > 0 AND topic = t.topic AND run_at <= $1
				ORDER BY priority DESC, run_at, id
				LIMIT LEAST(t.lim, $5)
				FOR UPDATE SKIP LOCKED
			), plain AS (
				SELECT id, priority, run_at FROM _jobs
				WHERE status = 'pending' AND priority = 0 AND topic = t.topic AND run_at <= $1
				ORDER BY run_at, id
				LIMIT LEAST(t.lim, $5) - (SELECT count(*) FROM higher)
				FOR UPDATE SKIP LOCKED
			), lower AS (
				SELECT id, priority, run_at FROM _jobs
				WHERE status = 'pending' AND priority < 0 AND topic = t.topic AND run_at <= $1
				ORDER BY priority DESC, run_at, id
				LIMIT LEAST(t.lim, $5) - (SELECT count(*) FROM higher) - (SELECT count(*) FROM plain)
				FOR UPDATE SKIP LOCKED
			)
			SELECT * FROM higher UNION ALL SELECT * FROM plain UNION ALL SELECT * FROM lower
		) AS c
		WHERE NOT EXISTS (SELECT 1 FROM _jobs_paused_topics AS p WHERE p.topic = t.topic)
		ORDER BY c.priority DESC, c.run_at, c.id
		LIMIT $5
	)
	UPDATE _jobs
	SET status = 'processing', attempts = attempts + 1,
		lock_version = GREATEST(lock_version + 1, $6::bigint),
		locked_until = ($4::timestamptz[])[array_position($2::text[], topic)],
		updated = $1
	WHERE id = ANY(ARRAY(SELECT claim_id FROM claimable))
	RETURNING ` + jobColumns

// claimArgs are the parameters of claimSQL for p.
func claimArgs(p driver.ClaimParams) []any {
	now := ts(p.Now)
	var (
		topics = make([]string, len(p.Topics))
		limits = make([]int, len(p.Topics))
		locks  = make([]pgtype.Timestamptz, len(p.Topics))
	)
	for i, t := range p.Topics {
		topics[i], limits[i], locks[i] = t.Topic, t.Limit, nullTS(t.LockedUntil)
	}
	return []any{now, topics, limits, locks, p.Limit, now.UnixMicro()}
}

// Claim writes p.Outcomes (finishSQL) and locks up to p.Limit runnable
// jobs in one statement, at most each topic's own limit of each topic, each
// locked until its topic's LockedUntil, in claim order through the pending
// indexes: one batch, one implicit transaction with an asynchronous
// commit. Concurrent claims of any number of processes skip
// each other's rows instead of waiting, and never return one job twice. Rows
// come back in claim order. A late claim (p.Bind) binds as it begins.
func (d *Driver) Claim(ctx context.Context, p driver.ClaimParams) ([]driver.JobRow, error) {
	if p.Bind != nil {
		p = p.Bind()
	}
	p.Topics = withRoom(p.Topics)
	claiming := p.Limit > 0 && len(p.Topics) > 0
	if !claiming && len(p.Outcomes) == 0 {
		return nil, nil
	}
	var stmts []queued
	if len(p.Outcomes) > 0 {
		stmts = append(stmts, queued{finishSQL, finishArgs(p.Outcomes, p.Now)})
	}
	if claiming {
		stmts = append(stmts, queued{claimSQL, claimArgs(p)})
	}
	var claimed []driver.JobRow
	err := d.batchWithSettings(ctx, claimSettings, stmts, func(results pgx.BatchResults) error {
		if len(p.Outcomes) > 0 {
			if _, err := results.Exec(); err != nil {
				return err
			}
		}
		if !claiming {
			return nil
		}
		rows, err := results.Query()
		if err != nil {
			return err
		}
		claimed, err = pgx.CollectRows(rows, scanJob)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	// RETURNING gives no order.
	slices.SortFunc(claimed, claimOrder)
	return claimed, nil
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

// nextRunAtSQL reads, for each topic of $1 that is not paused, the
// earliest run_at of its pending jobs of priority 0 and that of its pending
// jobs of other priorities — one step into each of their indexes on
// (topic, run_at) — and returns the earliest of them, or NULL.
const nextRunAtSQL = `WITH handled(topic) AS (
		SELECT t.topic FROM unnest($1::text[]) AS t(topic)
		WHERE NOT EXISTS (SELECT 1 FROM _jobs_paused_topics AS p WHERE p.topic = t.topic)
	)
	SELECT min(next) FROM (
		SELECT (
			SELECT run_at FROM _jobs
			WHERE status = 'pending' AND priority = 0 AND topic = h.topic
			ORDER BY run_at LIMIT 1
		) AS next FROM handled AS h
		UNION ALL
		SELECT (
			SELECT run_at FROM _jobs
			WHERE status = 'pending' AND priority <> 0 AND topic = h.topic
			ORDER BY run_at LIMIT 1
		) FROM handled AS h
	) AS n`

// NextRunAt returns the earliest run_at among pending jobs of the topics,
// paused topics left out: the dispatcher would wake for them in vain.
func (d *Driver) NextRunAt(ctx context.Context, p driver.NextRunAtParams) (time.Time, error) {
	if len(p.Topics) == 0 {
		return time.Time{}, nil
	}
	var next pgtype.Timestamptz
	err := d.withSettings(ctx, indexOrder, nextRunAtSQL, []any{p.Topics}, func(results pgx.BatchResults) error {
		return results.QueryRow().Scan(&next)
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read next run time: %w", err)
	}
	if !next.Valid {
		return time.Time{}, nil
	}
	return next.Time.UTC(), nil
}
