package jobs

import (
	"context"
	"fmt"

	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
	"github.com/pocketbase-jobs/jobs/internal/outbox"
	"github.com/pocketbase/pocketbase/core"
)

// openPostgres opens and migrates the PostgreSQL job database, creates the
// app's outbox for transactional enqueues and starts its relay.
func (p *plugin) openPostgres(ctx context.Context, app core.App) (*jobDB, error) {
	pg, err := pgdriver.Open(ctx, p.config.PostgresDSN, pgdriver.WithLogger(app.Logger()))
	if err != nil {
		return nil, fmt.Errorf("open the PostgreSQL job database: %w", err)
	}
	if err := pg.Migrate(ctx); err != nil {
		pg.Close()
		return nil, fmt.Errorf("migrate the PostgreSQL job table: %w", err)
	}
	if err := outbox.Migrate(ctx, app.NonconcurrentDB()); err != nil {
		pg.Close()
		return nil, err
	}
	return &jobDB{
		drv:            pg,
		claimsInFlight: 2,
		relay:          startRelay(quiet(app.NonconcurrentDB()), pg, p.config.PollInterval, p.waker.Wake, app.Logger(), &p.clock),
		listen:         pg.Listen,
		release:        pg.Close,
	}, nil
}
