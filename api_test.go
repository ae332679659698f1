package jobs

import (
	"net/http"
	"testing"
)

// TestAPIAuthorization sends every route's request as a guest, as a user
// that fails the route's rule, as one that passes it and as a superuser.
func TestAPIAuthorization(t *testing.T) {
	routes := []struct {
		name, method, url, body string
		// pass and fail are auth kinds that pass and fail the route's rule.
		pass, fail string
		status     int
		content    []string
		check      func(t testing.TB, f *apiFixture)
	}{
		{
			name: "enqueue", method: http.MethodPost, url: "/api/jobs/enqueue",
			body: `{"topic":"mail_digest","payload":{"user_id":"123"}}`,
			pass: asUser, fail: asClient,
			status: 200,
			content: []string{
				`"topic":"mail_digest"`, `"payload":{"user_id":"123"}`, `"status":"pending"`,
				`"retries":0`, `"max_retries":3`,
			},
			check: func(t testing.TB, f *apiFixture) {
				list, err := GetJobStore(f.app).List(&JobFilter{Topic: "mail_digest"})
				if err != nil || list.Total != 1 {
					t.Errorf("mail_digest jobs: %v, %v; want 1", list, err)
				}
			},
		},
		{
			name: "stats", method: http.MethodGet, url: "/api/jobs/stats",
			pass: asOperator, fail: asUser,
			status:  200,
			content: []string{`{"pending":1,"processing":0,"completed":1,"failed":1,"cancelled":0,"total":3}`},
		},
		{
			name: "list", method: http.MethodGet, url: "/api/jobs?status=failed",
			pass: asOperator, fail: asUser,
			status: 200,
			content: []string{
				`"items":[{"id":"{failed}","topic":"broken"`, `"last_error":"boom"`,
				`"total":1,"limit":20,"offset":0`,
			},
		},
		{
			name: "get", method: http.MethodGet, url: "/api/jobs/{pending}",
			pass: asOperator, fail: asUser,
			status:  200,
			content: []string{`"id":"{pending}"`, `"topic":"idle"`, `"payload":{"seed":"pending"}`, `"status":"pending"`},
		},
		{
			name: "requeue", method: http.MethodPost, url: "/api/jobs/{failed}/requeue",
			pass: asOperator, fail: asUser,
			status:  200,
			content: []string{`"id":"{failed}"`, `"status":"pending"`, `"retries":0`},
			check: func(t testing.TB, f *apiFixture) {
				if job := f.job(t, f.ids[StatusFailed]); job.Status != StatusPending {
					t.Errorf("requeued job is %s, want pending", job.Status)
				}
			},
		},
		{
			name: "delete", method: http.MethodDelete, url: "/api/jobs/{pending}",
			pass: asOperator, fail: asUser,
			status: 204,
			check:  expectDeleted(StatusPending),
		},
		{
			name: "cancel", method: http.MethodPost, url: "/api/jobs/{pending}/cancel",
			pass: asOperator, fail: asUser,
			status:  200,
			content: []string{`"id":"{pending}"`, `"status":"cancelled"`},
			check: func(t testing.TB, f *apiFixture) {
				if job := f.job(t, f.ids[StatusPending]); job.Status != StatusCancelled {
					t.Errorf("cancelled job is %s", job.Status)
				}
			},
		},
		{
			name: "topics", method: http.MethodGet, url: "/api/jobs/topics",
			pass: asOperator, fail: asUser,
			status: 200,
			content: []string{
				`{"topic":"broken","pending":0,"processing":0,"completed":0,"failed":1,"cancelled":0,"total":1,"paused":false,"has_handler":false}`,
				`{"topic":"idle","pending":1,`,
			},
		},
		{
			name: "schedules", method: http.MethodGet, url: "/api/jobs/schedules",
			pass: asOperator, fail: asUser,
			status: 200, content: []string{`[]`},
		},
		{
			name: "pause", method: http.MethodPost, url: "/api/jobs/topics/idle/pause",
			pass: asOperator, fail: asUser,
			status:  200,
			content: []string{`"topic":"idle","pending":1,`, `"paused":true`},
			check:   expectPaused("idle", true),
		},
		{
			name: "resume", method: http.MethodPost, url: "/api/jobs/topics/idle/resume",
			pass: asOperator, fail: asUser,
			status:  200,
			content: []string{`"topic":"idle","pending":1,`, `"paused":false`},
			check:   expectPaused("idle", false),
		},
	}
	for _, route := range routes {
		t.Run(route.name, func(t *testing.T) {
			requests := []apiCase{
				{
					name: "guest", auth: asGuest, status: 401,
					content: []string{`"status":401`, `"message":"The request requires a valid authorization token."`},
				},
				{
					name: "user failing the rule", auth: route.fail, status: 403,
					content: []string{`"status":403`, `"message":"The authorized record is not allowed to perform this action."`},
				},
				{name: "user passing the rule", auth: route.pass, status: route.status, content: route.content, check: route.check},
				{name: "superuser", auth: asSuperuser, status: route.status, content: route.content, check: route.check},
			}
			for _, c := range requests {
				c.method, c.url, c.body = route.method, route.url, route.body
				c.run(t, newAPIFixture(t, apiConfig()))
			}
		})
	}
}

// TestAPIEmptyRules checks that empty rules leave every route to
// superusers: a guest gets 401, any other auth 403.
func TestAPIEmptyRules(t *testing.T) {
	cfg := apiConfig()
	cfg.EnqueueRule, cfg.ManageRule = "", ""
	requests := []struct{ method, url, body string }{
		{http.MethodPost, "/api/jobs/enqueue", `{"topic":"mail_digest"}`},
		{http.MethodGet, "/api/jobs/stats", ""},
		{http.MethodGet, "/api/jobs", ""},
		{http.MethodGet, "/api/jobs/{pending}", ""},
		{http.MethodPost, "/api/jobs/{failed}/requeue", ""},
		{http.MethodDelete, "/api/jobs/{pending}", ""},
		{http.MethodPost, "/api/jobs/{pending}/cancel", ""},
		{http.MethodGet, "/api/jobs/topics", ""},
		{http.MethodPost, "/api/jobs/topics/idle/pause", ""},
		{http.MethodPost, "/api/jobs/topics/idle/resume", ""},
		{http.MethodGet, "/api/jobs/schedules", ""},
	}
	auths := []struct {
		name, auth string
		status     int
	}{
		{"guest", asGuest, 401},
		{"user", asUser, 403},
		{"ops user", asOperator, 403},
		{"client", asClient, 403},
	}
	f := newAPIFixture(t, cfg)
	for _, r := range requests {
		for _, a := range auths {
			apiCase{
				name: r.method + " " + r.url + " as " + a.name, method: r.method, url: r.url, body: r.body,
				auth: a.auth, status: a.status, content: []string{`"data":{}`},
			}.run(t, f)
		}
	}
}

// expectPaused returns a check that topic is paused, or not.
func expectPaused(topic string, paused bool) func(t testing.TB, f *apiFixture) {
	return func(t testing.TB, f *apiFixture) {
		info, err := GetJobStore(f.app).topic(topic)
		if err != nil || info.Paused != paused {
			t.Errorf("topic %q: %+v, %v; want paused %v", topic, info, err, paused)
		}
	}
}

// TestAPICancelAndPauseErrors: a cancel of a finished job is a conflict, of an
// unknown one a 404; a topic path that is no topic is a 400.
func TestAPICancelAndPauseErrors(t *testing.T) {
	cases := []apiCase{
		{
			name: "cancel completed", method: http.MethodPost, url: "/api/jobs/{completed}/cancel",
			status: 409, content: []string{`"status":409`, `only pending or processing jobs can be cancelled.`},
		},
		{
			name: "cancel failed", method: http.MethodPost, url: "/api/jobs/{failed}/cancel",
			status: 409, content: []string{`"status":409`, `only pending or processing jobs can be cancelled.`},
		},
		{
			name: "cancel unknown", method: http.MethodPost, url: "/api/jobs/nosuchjob000000/cancel",
			status: 404, content: []string{`"status":404`},
		},
		{
			name: "pause blank topic", method: http.MethodPost, url: "/api/jobs/topics/%20/pause",
			status: 400, content: []string{`"status":400`, `"message":"Topic must not be empty."`},
		},
		{
			name: "pause topic with a slash", method: http.MethodPost, url: "/api/jobs/topics/mail%2Fdigest/pause",
			status: 200, content: []string{`"topic":"mail/digest"`, `"paused":true`},
			check: expectPaused("mail/digest", true),
		},
	}
	f := newAPIFixture(t, apiConfig())
	for _, c := range cases {
		c.auth = asSuperuser
		c.run(t, f)
	}
}

// TestAPISchedules: GET /api/jobs/schedules lists the schedules declared in
// the process, with their next run; a schedule that never ran has no
// last_run.
func TestAPISchedules(t *testing.T) {
	f := newAPIFixture(t, apiConfig())
	if err := GetJobStore(f.app).Schedule("nightly", "@daily", "digest", map[string]int{"days": 1}); err != nil {
		t.Fatal(err)
	}
	apiCase{
		method: http.MethodGet, url: "/api/jobs/schedules", auth: asSuperuser, status: 200,
		content: []string{`[{"name":"nightly","cron":"@daily","topic":"digest","payload":{"days":1},"next_run":"`, `T00:00:00Z"}]`},
	}.run(t, f)
}
