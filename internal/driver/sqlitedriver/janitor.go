package sqlitedriver

import (
	"context"
	"fmt"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// deleteCompletedSQL deletes a batch of completed jobs last updated before
// {:before}, found through the retention index.
const deleteCompletedSQL = `DELETE FROM _jobs WHERE id IN (
		SELECT id FROM _jobs INDEXED BY _jobs_completed_idx
		WHERE status = 'completed' AND updated < {:before}
		LIMIT {:limit}
	)`

// DeleteCompleted deletes one batch of old completed jobs.
func (d *Driver) DeleteCompleted(ctx context.Context, p driver.DeleteCompletedParams) (int, error) {
	res, err := d.write.NewQuery(deleteCompletedSQL).WithContext(ctx).
		Bind(dbx.Params{"before": micros(p.Before), "limit": p.Limit}).Execute()
	if err != nil {
		return 0, fmt.Errorf("delete completed jobs: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// waitingTopicsSQL walks the distinct topics of pending jobs of priority 0,
// and those of pending jobs of other priorities, each in its index on
// (topic, run_at) and one seek at a time (each step finds the next topic
// after the last one), and reads each topic's earliest run_at in each with
// one more seek: its cost grows with the number of topics, not with the
// number of pending jobs. INDEXED BY keeps SQLite from finding the first
// topic through the status index, which would read every pending job.
const waitingTopicsSQL = `WITH RECURSIVE
	default_topics(topic) AS (
		SELECT MIN(topic) FROM _jobs INDEXED BY _jobs_pending_default_idx
		WHERE status = 'pending' AND priority = 0
		UNION ALL
		SELECT (SELECT MIN(topic) FROM _jobs INDEXED BY _jobs_pending_default_idx
			WHERE status = 'pending' AND priority = 0 AND topic > t.topic)
		FROM default_topics AS t WHERE t.topic IS NOT NULL
	),
	priority_topics(topic) AS (
		SELECT MIN(topic) FROM _jobs INDEXED BY _jobs_pending_priority_run_at_idx
		WHERE status = 'pending' AND priority <> 0
		UNION ALL
		SELECT (SELECT MIN(topic) FROM _jobs INDEXED BY _jobs_pending_priority_run_at_idx
			WHERE status = 'pending' AND priority <> 0 AND topic > t.topic)
		FROM priority_topics AS t WHERE t.topic IS NOT NULL
	),
	oldest(topic, run_at) AS (
		SELECT topic, (SELECT MIN(run_at) FROM _jobs INDEXED BY _jobs_pending_default_idx
			WHERE status = 'pending' AND priority = 0 AND topic = t.topic)
		FROM default_topics AS t WHERE t.topic IS NOT NULL
		UNION ALL
		SELECT topic, (SELECT MIN(run_at) FROM _jobs INDEXED BY _jobs_pending_priority_run_at_idx
			WHERE status = 'pending' AND priority <> 0 AND topic = t.topic)
		FROM priority_topics AS t WHERE t.topic IS NOT NULL
	)
	SELECT topic, MIN(run_at) FROM oldest AS o
	WHERE NOT EXISTS (SELECT 1 FROM _jobs_paused_topics AS p WHERE p.topic = o.topic)
	GROUP BY topic
	HAVING MIN(run_at) <= {:since}
	ORDER BY topic`

// WaitingTopics returns the topics whose oldest pending job has been
// runnable since p.RunnableSince or earlier, but for paused ones.
func (d *Driver) WaitingTopics(ctx context.Context, p driver.WaitingParams) ([]driver.WaitingTopic, error) {
	rows, err := d.read.NewQuery(waitingTopicsSQL).WithContext(ctx).
		Bind(dbx.Params{"since": micros(p.RunnableSince)}).Rows()
	if err != nil {
		return nil, fmt.Errorf("read waiting topics: %w", err)
	}
	defer rows.Close()
	var out []driver.WaitingTopic
	for rows.Next() {
		var (
			w      driver.WaitingTopic
			oldest int64
		)
		if err := rows.Scan(&w.Topic, &oldest); err != nil {
			return nil, fmt.Errorf("read waiting topics: %w", err)
		}
		w.Oldest = fromMicros(oldest)
		out = append(out, w)
	}
	return out, rows.Err()
}
