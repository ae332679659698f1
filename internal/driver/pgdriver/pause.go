package pgdriver

import (
	"context"
	"fmt"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// pauseSQL pauses a topic; pausing a paused topic keeps the time it was
// first paused. resumeSQL resumes it; resuming a topic that is not paused
// changes nothing.
const (
	pauseSQL = `INSERT INTO _jobs_paused_topics (topic, paused_at) VALUES ($1, $2)
		ON CONFLICT (topic) DO NOTHING`
	resumeSQL = `DELETE FROM _jobs_paused_topics WHERE topic = $1`
)

// SetPaused pauses or resumes a topic. Claims and look-aheads read the
// paused topics at every call, so every process sees a pause at its next
// claim; a resume is announced, as the topic's jobs may be runnable.
func (d *Driver) SetPaused(ctx context.Context, p driver.PauseParams) error {
	if p.Paused {
		if _, err := d.pool.Exec(ctx, pauseSQL, p.Topic, ts(p.Now)); err != nil {
			return fmt.Errorf("pause topic %s: %w", p.Topic, interpretError(err))
		}
		return nil
	}
	tag, err := d.pool.Exec(ctx, resumeSQL, p.Topic)
	if err != nil {
		return fmt.Errorf("resume topic %s: %w", p.Topic, interpretError(err))
	}
	if tag.RowsAffected() > 0 {
		d.announcer.announce()
	}
	return nil
}
