package sqlitedriver_test

import (
	"context"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver/sqlitedriver"
	"github.com/pocketbase-jobs/jobs/internal/drivertest"
)

// TestUpgradeFromVersion4: jobs stored by schema version 4 are read,
// claimed and looked ahead to once the schema is upgraded (see
// drivertest.Upgrade).
func TestUpgradeFromVersion4(t *testing.T) {
	write, read := openDB(t)
	d := sqlitedriver.New(write, read)
	drivertest.Upgrade(t, d, drivertest.OldSchema{
		Migrate: func(ctx context.Context) error { return sqlitedriver.MigrateTo(ctx, d, 4) },
		Insert: func(ctx context.Context, id string, runAt, now time.Time) error {
			_, err := write.NewQuery(`INSERT INTO _jobs (id, topic, payload, status, run_at, max_retries, created, updated)
				VALUES ({:id}, 't', '{}', 'pending', {:run_at}, 2, {:now}, {:now})`).WithContext(ctx).
				Bind(dbx.Params{"id": id, "run_at": runAt.UnixMicro(), "now": now.UnixMicro()}).Execute()
			return err
		},
	})
}
