package jobs

import (
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// bindRoutes registers the /api/jobs routes on r.
func (p *plugin) bindRoutes(r *router.Router[*core.RequestEvent]) {
}
