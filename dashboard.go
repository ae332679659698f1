package jobs

import (
	"errors"
	"net/http"

	"github.com/pocketbase-jobs/jobs/internal/dashboard"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// dashboardPath is where the dashboard is served, beside PocketBase's admin
// UI at /_/.
const dashboardPath = "/_/jobs"

// bindDashboard serves the dashboard's files (see internal/dashboard) under
// dashboardPath/ on r, and redirects dashboardPath itself there. The page
// calls the /api/jobs routes, so it is bound with them only.
func bindDashboard(r *router.Router[*core.RequestEvent]) {
	r.GET(dashboardPath, func(e *core.RequestEvent) error {
		target := dashboardPath + "/"
		if e.Request.URL.RawQuery != "" {
			target += "?" + e.Request.URL.RawQuery
		}
		return e.Redirect(http.StatusFound, target)
	})
	r.GET(dashboardPath+"/{path...}", serveDashboardFile).Bind(apis.Gzip())
}

// serveDashboardFile answers with the dashboard file of the path: the page
// for dashboardPath/ itself, 404 for a name that is not one of its files.
func serveDashboardFile(e *core.RequestEvent) error {
	err := dashboard.Serve(e.Response, e.Request, e.Request.PathValue("path"))
	if errors.Is(err, dashboard.ErrNotFound) {
		return e.NotFoundError("", err)
	}
	return err
}
