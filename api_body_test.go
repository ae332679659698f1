package jobs

import (
	"net/http"
	"testing"
)

// TestAPIRoutesWithoutBody checks that the routes that take no body never
// read one, whoever sends it: ManageRule's @request.body.* sees an empty
// body, and a malformed body is not refused.
func TestAPIRoutesWithoutBody(t *testing.T) {
	cfg := apiConfig()
	cfg.ManageRule = testManageRule + ` || @request.body.key = "s3cret"`
	routes := []struct {
		name, method, url string
		status            int
		content           []string
		check             func(t testing.TB, f *apiFixture)
	}{
		{name: "stats", method: http.MethodGet, url: "/api/jobs/stats", status: 200, content: []string{`"total":3`}},
		{name: "list", method: http.MethodGet, url: "/api/jobs", status: 200, content: []string{`"total":3`}},
		{name: "get", method: http.MethodGet, url: "/api/jobs/{pending}", status: 200, content: []string{`"id":"{pending}"`}},
		{
			name: "requeue", method: http.MethodPost, url: "/api/jobs/{failed}/requeue", status: 200,
			content: []string{`"id":"{failed}"`, `"status":"pending"`},
			check: func(t testing.TB, f *apiFixture) {
				if job := f.job(t, f.ids[StatusFailed]); job.Status != StatusPending {
					t.Errorf("requeued job is %s, want pending", job.Status)
				}
			},
		},
		{
			name: "delete", method: http.MethodDelete, url: "/api/jobs/{pending}", status: 204,
			check: expectDeleted(StatusPending),
		},
	}
	for _, route := range routes {
		t.Run(route.name, func(t *testing.T) {
			requests := []apiCase{
				{
					name: "guest with the body the rule wants", auth: asGuest, body: `{"key":"s3cret"}`,
					status: 401, content: []string{`"status":401`},
				},
				{
					name: "guest with a malformed body", auth: asGuest, body: `{"key":`,
					status: 401, content: []string{`"status":401`},
				},
				{
					name: "ops user with a malformed body", auth: asOperator, body: `{"key":`,
					status: route.status, content: route.content, check: route.check,
				},
				{
					name: "superuser with a malformed body", auth: asSuperuser, body: `{"key":`,
					status: route.status, content: route.content, check: route.check,
				},
			}
			f := newAPIFixture(t, cfg)
			for _, c := range requests {
				c.method, c.url, c.unread = route.method, route.url, true
				c.run(t, f)
			}
		})
	}
}

// TestAPIEnqueueBodyCappedBeforeRule checks that the enqueue body is cut at
// the body limit before EnqueueRule reads it: a body over the limit is
// refused with 413, not parsed for the rule (which would answer 401 or 403).
func TestAPIEnqueueBodyCappedBeforeRule(t *testing.T) {
	overLimit := `{"topic":"mail_digest","payload":` + jsonString(int(enqueueBodyLimit(apiTestMaxPayload))) + `}`
	f := newAPIFixture(t, apiConfig())
	for _, auth := range []string{asGuest, asClient, asUser} {
		for _, stream := range []bool{false, true} {
			apiCase{
				name: "as " + auth, method: http.MethodPost, url: "/api/jobs/enqueue", body: overLimit, stream: stream,
				auth: auth, status: 413, content: []string{`"status":413`, `"message":"Request entity too large."`},
			}.run(t, f)
		}
	}
}
