package jobs

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
)

// TestValidateRules checks the rule check of Register, which runs before
// the app is bootstrapped and so without a database.
func TestValidateRules(t *testing.T) {
	cases := []struct {
		rule  string
		valid bool
	}{
		{``, true},
		{`@request.auth.id != ""`, true},
		{testEnqueueRule, true},
		{testManageRule, true},
		{`@request.headers.x_jobs_key = "s3cret"`, true},
		{`@request.query.key = "s3cret" || @request.method = "GET"`, true},
		{`@request.body.topic:isset = true && @request.body.topic:lower ~ "mail_"`, true},
		{`@request.body.run_at > @now`, true},
		{`@collection.job_operators.user ?= @request.auth.id`, true},
		{`@collection.job_operators:ops.user.role = "ops"`, true},
		{`@request.auth.id =`, false},
		{`(@request.auth.id != ""`, false},
		{`topic = "mail_digest"`, false},
		{`@request.nope = 1`, false},
		{`@collection.job_operators = 1`, false},
		{`nope(@request.auth.id) = 1`, false},
		{`@request.body.topic:each = "a"`, false},
		{`@request.body.topic:length > 1`, false},
	}
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()}) // not bootstrapped: no database
	for _, c := range cases {
		for _, field := range []string{"EnqueueRule", "ManageRule"} {
			cfg := DefaultConfig()
			if field == "EnqueueRule" {
				cfg.EnqueueRule = c.rule
			} else {
				cfg.ManageRule = c.rule
			}
			err := validateRules(app, cfg)
			if c.valid && err != nil {
				t.Errorf("%s %q: %v, want it valid", field, c.rule, err)
			}
			if !c.valid && (!errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), field)) {
				t.Errorf("%s %q: %v, want ErrInvalidConfig naming %s", field, c.rule, err, field)
			}
		}
	}
}

// TestRegisterInvalidRule checks that Register refuses an invalid rule, from
// the config or the environment, and registers nothing.
func TestRegisterInvalidRule(t *testing.T) {
	cases := []struct {
		name   string
		cfg    func(*Config)
		env    string
		naming string
	}{
		{name: "config", cfg: func(c *Config) { c.ManageRule = `role = "ops"` }, naming: "ManageRule (PB_JOBS_MANAGE_RULE)"},
		{name: "environment", env: `@request.auth.id =`, naming: "EnqueueRule (PB_JOBS_ENQUEUE_RULE)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			if c.env != "" {
				t.Setenv("PB_JOBS_ENQUEUE_RULE", c.env)
			}
			app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
			err := Register(app, cfg)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.naming) {
				t.Fatalf("Register: %v, want ErrInvalidConfig naming %s", err, c.naming)
			}
			if _, err := GetJobStore(app).Stats(); !errors.Is(err, ErrNotRegistered) {
				t.Errorf("store after the failed Register: %v, want ErrNotRegistered", err)
			}
		})
	}
}

// TestUnresolvableRules checks the check against the collections, made when
// the app serves.
func TestUnresolvableRules(t *testing.T) {
	cfg := apiConfig()
	cfg.ManageRule = `@collection.no_such_collection.id != ""`
	f := newAPIFixture(t, cfg)
	errs := GetJobStore(f.app).p.unresolvableRules()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "ManageRule") {
		t.Errorf("unresolvable rules: %v, want one naming ManageRule", errs)
	}
}

// TestAPIRules evaluates each kind of rule field on a route.
func TestAPIRules(t *testing.T) {
	const stats = "/api/jobs/stats"
	allowed := []string{`"total":3`}
	get := func(c apiCase) apiCase { c.method = http.MethodGet; return c }
	enqueue := func(c apiCase) apiCase { c.method, c.url = http.MethodPost, "/api/jobs/enqueue"; return c }
	cases := []struct {
		name                    string
		enqueueRule, manageRule string
		requests                []apiCase
	}{
		{
			name: "header", manageRule: `@request.headers.x_jobs_key = "s3cret"`,
			requests: []apiCase{
				get(apiCase{name: "guest with the header", url: stats, headers: map[string]string{"X-Jobs-Key": "s3cret"}, status: 200, content: allowed}),
				get(apiCase{name: "guest with a wrong header", url: stats, headers: map[string]string{"X-Jobs-Key": "guess"}, status: 401, content: []string{`"status":401`}}),
				get(apiCase{name: "user without the header", url: stats, auth: asUser, status: 403, content: []string{`"status":403`}}),
			},
		},
		{
			name: "query", manageRule: `@request.query.key = "s3cret"`,
			requests: []apiCase{
				get(apiCase{name: "guest with the key", url: stats + "?key=s3cret", status: 200, content: allowed}),
				get(apiCase{name: "guest without the key", url: stats, status: 401, content: []string{`"status":401`}}),
			},
		},
		{
			name: "body", enqueueRule: `@request.auth.id != "" && @request.body.payload.user_id = @request.auth.id`,
			requests: []apiCase{
				enqueue(apiCase{
					name: "user enqueuing for themselves", body: `{"topic":"a","payload":{"user_id":"4q1xlclmfloku33"}}`, auth: asUser,
					status: 200, content: []string{`"user_id":"4q1xlclmfloku33"`}, check: expectTotal(4),
				}),
				enqueue(apiCase{
					name: "user enqueuing for another user", body: `{"topic":"a","payload":{"user_id":"oap640cot4yru2s"}}`, auth: asUser,
					status: 403, content: []string{`"status":403`},
				}),
			},
		},
		{
			name: "auth field of a users record", manageRule: testManageRule,
			requests: []apiCase{
				get(apiCase{name: "ops user", url: stats, auth: asOperator, status: 200, content: allowed}),
				get(apiCase{name: "client, whose collection has no role field", url: stats, auth: asClient, status: 403, content: []string{`"status":403`}}),
			},
		},
		{
			name: "any of a collection", manageRule: `@collection.job_operators.user ?= @request.auth.id`,
			requests: []apiCase{
				get(apiCase{name: "listed user", url: stats, auth: asOperator, status: 200, content: allowed}),
				get(apiCase{name: "unlisted user", url: stats, auth: asUser, status: 403, content: []string{`"status":403`}}),
				get(apiCase{name: "guest", url: stats, status: 401, content: []string{`"status":401`}}),
			},
		},
		{
			name: "all of a collection", manageRule: `@collection.job_operators.user = @request.auth.id`,
			requests: []apiCase{
				get(apiCase{name: "listed user", url: stats, auth: asOperator, status: 200, content: allowed}),
				get(apiCase{name: "unlisted user", url: stats, auth: asUser, status: 403, content: []string{`"status":403`}}),
			},
		},
		{
			name: "collection through a relation", manageRule: `@collection.job_operators.user.role ?= "ops" && @request.auth.id != ""`,
			requests: []apiCase{
				get(apiCase{name: "user", url: stats, auth: asUser, status: 200, content: allowed}),
			},
		},
		{
			name: "collection that does not exist", manageRule: `@collection.no_such_collection.id != ""`,
			requests: []apiCase{
				get(apiCase{name: "user", url: stats, auth: asUser, status: 500, content: []string{`"status":500`}}),
				get(apiCase{name: "superuser", url: stats, auth: asSuperuser, status: 200, content: allowed}),
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := apiConfig()
			cfg.EnqueueRule, cfg.ManageRule = c.enqueueRule, c.manageRule
			f := newAPIFixture(t, cfg)
			for _, r := range c.requests {
				r.run(t, f)
			}
		})
	}
}

// TestAPIEnqueueRuleSeesTheBody checks that the rule and the enqueue read
// the same members of the body: names are case sensitive in both, and a
// body that is not UTF-8 (which a JSON decoder would alter) is refused
// before the rule sees it.
func TestAPIEnqueueRuleSeesTheBody(t *testing.T) {
	cases := []apiCase{
		{
			name: "topic the rule allows, and a member in another case", body: `{"topic":"mail_digest","Topic":"other"}`,
			status: 400, content: []string{`"data":{"Topic":{"code":"validation_unknown_member"`},
		},
		{
			name: "topic the rule refuses", body: `{"topic":"other","Topic":"mail_digest"}`,
			status: 403, content: []string{`"status":403`},
		},
		{
			name: "form body the rule allows", body: `topic=mail_digest`,
			headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			status:  400, content: []string{`the Content-Type must be application/json`},
		},
		{
			name: "JSON body with the media type in capitals", body: `{"topic":"mail_digest"}`,
			headers: map[string]string{"Content-Type": "Application/JSON"},
			status:  200, content: []string{`"topic":"mail_digest"`}, check: expectTotal(4),
		},
		{
			name: "JSON body sent as another media type", body: `{"topic":"mail_digest"}`,
			headers: map[string]string{"Content-Type": "application/jsonx"},
			status:  400, content: []string{`the Content-Type must be application/json`},
		},
		{
			name: "topic that is not UTF-8", body: "{\"topic\":\"mail_digest\xff\"}",
			status: 400, content: []string{`the body must be valid UTF-8`},
		},
	}
	for _, c := range cases {
		c.method, c.url, c.auth = http.MethodPost, "/api/jobs/enqueue", asUser
		c.run(t, newAPIFixture(t, apiConfig()))
	}
}
