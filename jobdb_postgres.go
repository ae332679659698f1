package jobs

import (
	"context"
	"fmt"

	"github.com/pocketbase/pocketbase/core"
)

// openPostgres opens the PostgreSQL job database.
func (p *plugin) openPostgres(ctx context.Context, app core.App) (*jobDB, error) {
	return nil, fmt.Errorf("%w: PostgresDSN is set but this build has no PostgreSQL job store", ErrInvalidConfig)
}
