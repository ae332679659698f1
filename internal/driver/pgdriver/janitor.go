package pgdriver

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// deleteCompletedSQL deletes a batch of completed jobs last updated before
// $1, skipping those another process is deleting.
const deleteCompletedSQL = `DELETE FROM _jobs WHERE id IN (
		SELECT id FROM _jobs
		WHERE status = 'completed' AND updated < $1
		LIMIT $2
		FOR UPDATE SKIP LOCKED
	)`

// DeleteCompleted deletes one batch of old completed jobs.
func (d *Driver) DeleteCompleted(ctx context.Context, p driver.DeleteCompletedParams) (int, error) {
	tag, err := d.pool.Exec(ctx, deleteCompletedSQL, ts(p.Before), p.Limit)
	if err != nil {
		return 0, fmt.Errorf("delete completed jobs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// waitingTopicsSQL walks the distinct topics of pending jobs of priority 0,
// and those of pending jobs of other priorities, each in its index on
// (topic, run_at) and one seek at a time (each step finds the next topic
// after the last one), and reads each topic's earliest run_at in each with
// one more seek: its cost grows with the number of topics, not with the
// number of pending jobs.
const waitingTopicsSQL = `WITH RECURSIVE
	default_topics(topic) AS (
		SELECT MIN(topic) FROM _jobs WHERE status = 'pending' AND priority = 0
		UNION ALL
		SELECT (SELECT MIN(topic) FROM _jobs WHERE status = 'pending' AND priority = 0 AND topic > t.topic)
		FROM default_topics AS t WHERE t.topic IS NOT NULL
	),
	priority_topics(topic) AS (
		SELECT MIN(topic) FROM _jobs WHERE status = 'pending' AND priority <> 0
		UNION ALL
		SELECT (SELECT MIN(topic) FROM _jobs WHERE status = 'pending' AND priority <> 0 AND topic > t.topic)
		FROM priority_topics AS t WHERE t.topic IS NOT NULL
	),
	oldest(topic, run_at) AS (
		SELECT topic, (SELECT MIN(run_at) FROM _jobs WHERE status = 'pending' AND priority = 0 AND topic = t.topic)
		FROM default_topics AS t WHERE t.topic IS NOT NULL
		UNION ALL
		SELECT topic, (SELECT MIN(run_at) FROM _jobs WHERE status = 'pending' AND priority <> 0 AND topic = t.topic)
		FROM priority_topics AS t WHERE t.topic IS NOT NULL
	)
	SELECT topic, MIN(run_at) FROM oldest AS o
	WHERE NOT EXISTS (SELECT 1 FROM _jobs_paused_topics AS p WHERE p.topic = o.topic)
	GROUP BY topic
	HAVING MIN(run_at) <= $1
	ORDER BY topic`

// WaitingTopics returns the topics whose oldest pending job has been
// runnable since p.RunnableSince or earlier, but for paused ones.
func (d *Driver) WaitingTopics(ctx context.Context, p driver.WaitingParams) ([]driver.WaitingTopic, error) {
	rows, err := d.pool.Query(ctx, waitingTopicsSQL, ts(p.RunnableSince))
	if err != nil {
		return nil, fmt.Errorf("read waiting topics: %w", err)
	}
	waiting, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (driver.WaitingTopic, error) {
		var w driver.WaitingTopic
		err := row.Scan(&w.Topic, &w.Oldest)
		w.Oldest = w.Oldest.UTC()
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("read waiting topics: %w", err)
	}
	return waiting, nil
}
