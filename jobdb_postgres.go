package jobs

import (
	"context"
	"fmt"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
	"github.com/pocketbase-jobs/jobs/internal/outbox"
	"github.com/pocketbase-jobs/jobs/internal/service"
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
		relay:          p.startRelay(app, pg),
		listen:         pg.Listen,
		release:        pg.Close,
	}, nil
}

// startRelay starts the relay of transactional enqueues from app's outbox
// to the job database of drv.
func (p *plugin) startRelay(app core.App, drv driver.Driver) *service.Relay {
	r := service.NewRelay(service.RelayConfig{
		AppDB:  quiet(app.NonconcurrentDB()),
		Driver: drv,
		Logger: app.Logger(),
		Clock:  &p.clock,
		Check:  checkRow,
		Moved:  p.waker.Wake,
		Every:  p.config.PollInterval,
	})
	r.Start()
	return r
}
