package sqlitedriver

import (
	"context"
	"fmt"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// pauseSQL pauses a topic; pausing a paused topic keeps the time it was
// first paused. resumeSQL resumes it; resuming a topic that is not paused
// changes nothing.
const (
	pauseSQL = `INSERT INTO _jobs_paused_topics (topic, paused_at) VALUES ({:topic}, {:now})
		ON CONFLICT (topic) DO NOTHING`
	resumeSQL = `DELETE FROM _jobs_paused_topics WHERE topic = {:topic}`
)

// SetPaused pauses or resumes a topic. Claims and look-aheads read the
// paused topics at every call, so every process sees the change at its
// next poll.
func (d *Driver) SetPaused(ctx context.Context, p driver.PauseParams) error {
	sql, verb := resumeSQL, "resume"
	if p.Paused {
		sql, verb = pauseSQL, "pause"
	}
	_, err := d.write.NewQuery(sql).WithContext(ctx).Bind(dbx.Params{"topic": p.Topic, "now": micros(p.Now)}).Execute()
	if err != nil {
		return fmt.Errorf("%s topic %s: %w", verb, p.Topic, err)
	}
	return nil
}
