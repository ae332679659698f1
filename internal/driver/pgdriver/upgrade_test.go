package pgdriver_test

import (
	"context"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
	"github.com/pocketbase-jobs/jobs/internal/drivertest"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

// TestUpgradeFromVersion4: jobs stored by schema version 4 are read,
// claimed and looked ahead to once the schema is upgraded (see
// drivertest.Upgrade).
func TestUpgradeFromVersion4(t *testing.T) {
	d := open(t, pgtest.DSN(t))
	drivertest.Upgrade(t, d, drivertest.OldSchema{
		Migrate: func(ctx context.Context) error { return pgdriver.MigrateTo(ctx, d, 4) },
		Insert: func(ctx context.Context, id string, runAt, now time.Time) error {
			_, err := pgdriver.Pool(d).Exec(ctx, `INSERT INTO _jobs (id, topic, payload, status, run_at, max_retries, created, updated)
				VALUES ($1, 't', '{}', 'pending', $2, 2, $3, $3)`, id, runAt, now)
			return err
		},
	})
}
