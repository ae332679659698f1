package jobs

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/tests"
)

// dashboardMarker is in the dashboard's page and in no page of PocketBase.
const dashboardMarker = `<form id="login-form"`

// dashboardCase is one request to an app's router, around the dashboard,
// and what it must answer.
type dashboardCase struct {
	name    string
	url     string
	status  int
	content []string
	// notContent must not be in the body.
	notContent []string
	// headers must be in the answer, with these values.
	headers map[string]string
}

// serve sends the request of c, as a subtest of t, to a new SQLite app
// registered with cfg (an app serves once, so each case gets its own).
func (c dashboardCase) serve(t *testing.T, cfg Config) {
	t.Helper()
	app := newApp(t, backends[0], cfg)
	scenario := tests.ApiScenario{
		Name:                  c.name,
		Method:                http.MethodGet,
		URL:                   c.url,
		ExpectedStatus:        c.status,
		ExpectedContent:       c.content,
		NotExpectedContent:    c.notContent,
		TestAppFactory:        func(testing.TB) *tests.TestApp { return app },
		DisableTestAppCleanup: true, // newApp's t.Cleanup does it
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, res *http.Response) {
			for name, want := range c.headers {
				if got := res.Header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		},
	}
	scenario.Test(t)
}

// dashboardConfig is testConfig with the HTTP API (and so the dashboard) on.
func dashboardConfig() Config {
	cfg := testConfig()
	cfg.HTTPEnabled = true
	return cfg
}

func TestDashboardServesItsFiles(t *testing.T) {
	cases := []dashboardCase{
		{
			name:    "the page",
			url:     "/_/jobs/",
			status:  http.StatusOK,
			content: []string{dashboardMarker, `src="./app.js"`},
			headers: map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"},
		},
		{
			name:    "the page by name",
			url:     "/_/jobs/index.html",
			status:  http.StatusOK,
			content: []string{dashboardMarker},
		},
		{
			name:    "its script",
			url:     "/_/jobs/app.js",
			status:  http.StatusOK,
			content: []string{"pocketbase.es.js"},
			headers: map[string]string{"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache"},
		},
		{
			name:    "its style",
			url:     "/_/jobs/style.css",
			status:  http.StatusOK,
			content: []string{"#toast"},
			headers: map[string]string{"Content-Type": "text/css; charset=utf-8"},
		},
		{
			name:    "the vendored SDK",
			url:     "/_/jobs/vendor/pocketbase/pocketbase.es.js",
			status:  http.StatusOK,
			content: []string{"LocalAuthStore"},
			headers: map[string]string{"Content-Type": "text/javascript; charset=utf-8"},
		},
		{
			name:    "the SDK's licence",
			url:     "/_/jobs/vendor/pocketbase/LICENSE.md",
			status:  http.StatusOK,
			content: []string{"MIT"},
			headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		},
		{
			name:       "an unknown file",
			url:        "/_/jobs/nothing.js",
			status:     http.StatusNotFound,
			content:    []string{`"status":404`},
			notContent: []string{dashboardMarker},
		},
		{
			name:       "a directory",
			url:        "/_/jobs/vendor/",
			status:     http.StatusNotFound,
			notContent: []string{dashboardMarker},
		},
		{
			name:    "without the slash",
			url:     "/_/jobs",
			status:  http.StatusFound,
			headers: map[string]string{"Location": "/_/jobs/"},
		},
	}
	for _, c := range cases {
		c.serve(t, dashboardConfig())
	}
}

func TestDashboardIsNotServedWhenOff(t *testing.T) {
	dashboardOff := dashboardConfig()
	dashboardOff.DashboardEnabled = false
	httpOff := dashboardConfig()
	httpOff.HTTPEnabled = false
	for name, cfg := range map[string]Config{"DashboardEnabled false": dashboardOff, "HTTPEnabled false": httpOff} {
		t.Run(name, func(t *testing.T) {
			for _, url := range []string{"/_/jobs/", "/_/jobs/app.js"} {
				dashboardCase{
					name:       url,
					url:        url,
					status:     http.StatusNotFound,
					notContent: []string{dashboardMarker, "pocketbase.es.js"},
				}.serve(t, cfg)
			}
		})
	}
}

func TestDashboardEnabledFromTheEnvironment(t *testing.T) {
	literal, err := Config{}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if !literal.DashboardEnabled || !DefaultConfig().DashboardEnabled {
		t.Fatal("the dashboard is off by default")
	}

	t.Setenv("PB_JOBS_DASHBOARD_ENABLED", "false")
	cfg, err := Config{}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DashboardEnabled {
		t.Fatal("PB_JOBS_DASHBOARD_ENABLED=false left the dashboard on")
	}

	t.Setenv("PB_JOBS_DASHBOARD_ENABLED", "off please")
	_, err = DefaultConfig().resolve()
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "PB_JOBS_DASHBOARD_ENABLED") {
		t.Fatalf("PB_JOBS_DASHBOARD_ENABLED=%q: %v, want ErrInvalidConfig naming the variable", "off please", err)
	}
}
