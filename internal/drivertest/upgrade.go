package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// OldSchema is what Upgrade needs of a driver's database at an older
// schema version.
type OldSchema struct {
	// Migrate creates the database at the older version.
	Migrate func(ctx context.Context) error
	// Insert stores a pending job of topic "t" as that version did, in its
	// columns: with the id and run_at given, created and updated at now.
	Insert func(ctx context.Context, id string, runAt, now time.Time) error
}

// Upgrade checks that jobs stored by an older schema version read back,
// once d migrated the schema to the newest, with priority 0 and no unique
// key, and that they are claimed, looked ahead to and counted among jobs
// stored since, with priorities and unique keys. d is a driver over a
// fresh database, which old creates.
func Upgrade(t *testing.T, d driver.Driver, old OldSchema) {
	t.Helper()
	if err := old.Migrate(t.Context()); err != nil {
		t.Fatalf("create the old schema: %v", err)
	}
	later := t0.Add(time.Hour)
	for id, runAt := range map[string]time.Time{"old": t0, "old-later": later} {
		if err := old.Insert(t.Context(), id, runAt, t0); err != nil {
			t.Fatalf("insert job %s in the old schema: %v", id, err)
		}
	}
	if err := d.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	stored := get(t, d, "old")
	if stored.Priority != 0 || stored.UniqueKey != "" || stored.Status != driver.StatusPending {
		t.Fatalf("job of the old schema reads back as %+v, want pending, with priority 0 and no key", stored)
	}
	wantTime(t, "run_at of the job of the old schema", stored.RunAt, t0)

	fresh := keyed("new", "t", "K")
	fresh.Priority = 1
	duplicate := fresh
	duplicate.ID = "duplicate"
	rows := insert(t, d, fresh, duplicate)
	wantDuplicate(t, d, "insert of a held key after the upgrade", rows[1], "new")
	wantIDs(t, "claim after the upgrade", idsOf(claim(t, d, claimOf(t0, t0.Add(lock), 10, "t"))), []string{"new", "old"})
	wantTime(t, "NextRunAt after the upgrade", nextRunAt(t, d, "t"), later)
	wantStats(t, d, driver.Stats{Pending: 1, Processing: 2})
}
