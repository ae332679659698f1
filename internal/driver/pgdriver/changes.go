package pgdriver

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// maxChangesPayload is the largest payload PublishChanges sends, under
// PostgreSQL's limit of 8000 bytes per notification.
const maxChangesPayload = 7900

// changesPayload is driver.Changes as JSON on ChangesChannel, with short
// member names to fit more ids in a notification.
type changesPayload struct {
	Origin  string          `json:"o"`
	Created []string        `json:"c,omitempty"`
	Updated []string        `json:"u,omitempty"`
	Deleted []deletedRecord `json:"d,omitempty"`
	Untold  int             `json:"n,omitempty"`
}

// deletedRecord is driver.DeletedJob in a changesPayload.
type deletedRecord struct {
	ID     string `json:"i"`
	Topic  string `json:"t"`
	Status string `json:"s"`
}

// publishSQL sends one notification of changes.
const publishSQL = `SELECT pg_notify('` + ChangesChannel + `', $1)`

// PublishChanges tells every listener of ChangesChannel (this process's
// too) of c. When c does not fit in one notification, its jobs are sent
// as their count in Untold. An outage is logged once, with those of the
// announcements of new jobs: both are notifications to other processes.
func (d *Driver) PublishChanges(ctx context.Context, c driver.Changes) error {
	payload, err := encodeChanges(c)
	if err != nil {
		return fmt.Errorf("encode changes: %w", err)
	}
	if _, err := d.pool.Exec(ctx, publishSQL, payload); err != nil {
		if ctx.Err() == nil {
			d.announcer.outage.Failed(err)
		}
		return fmt.Errorf("publish changes: %w", err)
	}
	d.announcer.outage.Recovered()
	return nil
}

// encodeChanges returns the payload of c: every job in it, or, when that is
// too large, only their count.
func encodeChanges(c driver.Changes) (string, error) {
	p := changesPayload{Origin: c.Origin, Created: c.Created, Updated: c.Updated, Untold: c.Untold}
	for _, j := range c.Deleted {
		p.Deleted = append(p.Deleted, deletedRecord(j))
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	if len(b) <= maxChangesPayload {
		return string(b), nil
	}
	counted := changesPayload{Origin: c.Origin, Untold: c.Untold + len(c.Created) + len(c.Updated) + len(c.Deleted)}
	b, err = json.Marshal(counted)
	return string(b), err
}

// decodeChanges parses a payload of ChangesChannel.
func decodeChanges(payload string) (driver.Changes, bool) {
	var p changesPayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		return driver.Changes{}, false
	}
	c := driver.Changes{Origin: p.Origin, Created: p.Created, Updated: p.Updated, Untold: p.Untold}
	for _, j := range p.Deleted {
		c.Deleted = append(c.Deleted, driver.DeletedJob(j))
	}
	return c, true
}
