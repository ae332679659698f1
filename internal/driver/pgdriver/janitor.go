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

// waitingTopicsSQL walks the distinct topics of pending jobs one index seek
// at a time (each step finds the next topic after the last one), and reads
// each topic's earliest run_at with one more seek: its cost grows with the
// number of topics, not with the number of pending jobs.
const waitingTopicsSQL = `WITH RECURSIVE topics(topic) AS (
		SELECT MIN(topic) FROM _jobs WHERE status = 'pending'
		UNION ALL
		SELECT (SELECT MIN(topic) FROM _jobs WHERE status = 'pending' AND topic > topics.topic)
		FROM topics WHERE topics.topic IS NOT NULL
	)
	SELECT topic, oldest FROM (
		SELECT topic, (SELECT MIN(run_at) FROM _jobs WHERE status = 'pending' AND topic = topics.topic) AS oldest
		FROM topics WHERE topic IS NOT NULL
	) AS w
	WHERE oldest <= $1 AND NOT EXISTS (SELECT 1 FROM _jobs_paused_topics p WHERE p.topic = w.topic)
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
