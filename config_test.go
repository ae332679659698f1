package jobs

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

func TestUnknownEnvVariableIsLoggedWithTheClosestKnownOne(t *testing.T) {
	t.Setenv("PB_JOBS_WORKER", "4")
	t.Setenv("PB_JOBS_AUTOSTART", "false")
	// The project's own test and benchmark variables are no typos.
	for _, name := range []string{"PB_JOBS_TEST_POSTGRES_DSN", "PB_JOBS_REQUIRE_POSTGRES", "PB_JOBS_BENCH_POSTGRES_DSN"} {
		if _, set := os.LookupEnv(name); !set {
			t.Setenv(name, "")
		}
	}
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	log := &logRecorder{}
	if err := Register(loggedApp{App: app, log: log}, testConfig()); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := app.Bootstrap(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	t.Cleanup(func() { _ = app.ResetBootstrapState() })

	variables := log.values(slog.LevelWarn, "variable")
	closest := log.values(slog.LevelWarn, "closest")
	want := map[string]string{"PB_JOBS_AUTOSTART": "PB_JOBS_AUTO_START", "PB_JOBS_WORKER": "PB_JOBS_WORKERS"}
	if len(variables) != len(want) || len(closest) != len(want) {
		t.Fatalf("warnings about variables %v (closest %v), want exactly %v", variables, closest, want)
	}
	for i, name := range variables {
		if want[name] != closest[i] {
			t.Errorf("warning about %s names %s, want %s", name, closest[i], want[name])
		}
	}
}

func TestUnknownEnvVariableIsLoggedAtOnceOnABootstrappedApp(t *testing.T) {
	t.Setenv("PB_JOBS_WORKER", "4")
	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()
	log := &logRecorder{}
	if err := Register(loggedApp{App: app, log: log}, testConfig()); err != nil {
		t.Fatal(err)
	}
	if !log.has("PB_JOBS_WORKER ", "PB_JOBS_WORKERS") {
		t.Fatal("no warning about PB_JOBS_WORKER when registering on a bootstrapped app")
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"PB_JOBS_WORKER", "PB_JOBS_WORKERS", 1},
		{"kitten", "sitting", 3},
		{"PB_JOBS_AUTOSTART", "PB_JOBS_AUTO_START", 1},
	} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestConfigLiteralTakesEveryDefault(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, Config{Workers: 2})
		store := GetJobStore(app)
		cfg := store.p.config
		if cfg.Workers != 2 || cfg.MaxRetries != DefaultMaxRetries || !cfg.HTTPEnabled || !cfg.AutoStart ||
			cfg.PollInterval != DefaultPollInterval || cfg.BatchSize != DefaultBatchSize {
			t.Fatalf("Config{Workers: 2} resolved to %+v", cfg)
		}
		job := mustEnqueue(t, store, "t", nil, nil)
		if job.MaxRetries != DefaultMaxRetries {
			t.Fatalf("job of Config{Workers: 2} has max_retries %d, want %d", job.MaxRetries, DefaultMaxRetries)
		}
		// Serving binds the routes (a guest gets 401, not 404) and starts
		// the dispatcher.
		scenario := tests.ApiScenario{
			Method:                http.MethodGet,
			URL:                   "/api/jobs/stats",
			ExpectedStatus:        http.StatusUnauthorized,
			ExpectedContent:       []string{`"status":401`},
			TestAppFactory:        func(testing.TB) *tests.TestApp { return app },
			DisableTestAppCleanup: true,
			AfterTestFunc: func(t testing.TB, _ *tests.TestApp, _ *http.Response) {
				if !dispatcherRunning(store) {
					t.Error("serving an app of Config{Workers: 2} did not start the dispatcher")
				}
			},
		}
		scenario.Test(t)
	})
}

func TestConfigLiteralIsLoggedAtBootstrap(t *testing.T) {
	_, log := bootstrappedApp(t, Config{Workers: 2})
	if !log.has("DefaultConfig()", "HTTPEnabled, DashboardEnabled and AutoStart", "PB_JOBS_HTTP_ENABLED=false",
		"PB_JOBS_DASHBOARD_ENABLED=false", "PB_JOBS_AUTO_START=false") {
		t.Fatal("no log line saying that a Config literal turns HTTPEnabled, DashboardEnabled and AutoStart on, and how to turn them off")
	}
}

func TestDefaultConfigKeepsHTTPAndAutoStartOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTPEnabled, cfg.AutoStart = false, false
	app, log := bootstrappedApp(t, cfg)
	got := GetJobStore(app).p.config
	if got.HTTPEnabled || got.AutoStart {
		t.Fatalf("DefaultConfig with HTTPEnabled and AutoStart off resolved to %+v", got)
	}
	if log.has("DefaultConfig()") {
		t.Fatal("a Config made by DefaultConfig was logged as a literal")
	}
}

func TestConfigLiteralDisabledStillDisables(t *testing.T) {
	app := newApp(t, backends[0], Config{Disabled: true})
	_, err := GetJobStore(app).Enqueue("t", nil)
	expectErr(t, err, ErrDisabled)
	if app.HasTable("_jobs") {
		t.Fatal("Config{Disabled: true} created the _jobs table")
	}
}

func TestConfigNoRetries(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.MaxRetries = NoRetries
		store := startedStore(t, b, cfg, map[string]func(*Job) error{
			"fail": func(*Job) error { return errors.New("boom") },
		})
		job := mustEnqueue(t, store, "fail", nil, nil)
		if job.MaxRetries != 0 {
			t.Fatalf("Config.MaxRetries = NoRetries enqueued max_retries %d", job.MaxRetries)
		}
		if done := waitStatus(t, store, job.ID, StatusFailed); done.Attempts != 1 {
			t.Fatalf("failed after %d attempts, want 1", done.Attempts)
		}
		// An explicit count still wins over the Config's none.
		if job := mustEnqueue(t, store, "t", nil, &JobEnqueueOptions{MaxRetries: 2}); job.MaxRetries != 2 {
			t.Fatalf("MaxRetries 2 over Config NoRetries stored %d", job.MaxRetries)
		}
	})
}

func TestEnvMaxRetriesZeroMeansNone(t *testing.T) {
	t.Setenv("PB_JOBS_MAX_RETRIES", "0") // so neither this test nor its subtests run in parallel
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			store := GetJobStore(newApp(t, b, testConfig()))
			if job := mustEnqueue(t, store, "t", nil, nil); job.MaxRetries != 0 {
				t.Fatalf("PB_JOBS_MAX_RETRIES=0 enqueued max_retries %d", job.MaxRetries)
			}
		})
	}
}

func TestEnvZeroForAPositiveSettingIsAnError(t *testing.T) {
	for _, name := range []string{
		"PB_JOBS_WORKERS", "PB_JOBS_POLL_INTERVAL", "PB_JOBS_LOCK_DURATION", "PB_JOBS_BATCH_SIZE",
		"PB_JOBS_MAX_PAYLOAD_SIZE", "PB_JOBS_SHUTDOWN_TIMEOUT", "PB_JOBS_RETENTION",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, "0")
			_, err := DefaultConfig().resolve()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), name+`="0"`) {
				t.Fatalf("%s=0: %v", name, err)
			}
		})
	}
}

func TestMustRegisterPanicsWithTheError(t *testing.T) {
	t.Setenv("PB_JOBS_WORKERS", "ten")
	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()
	defer func() {
		err, ok := recover().(error)
		if !ok || !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("MustRegister panicked with %#v, want an error wrapping ErrInvalidConfig", err)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, `PB_JOBS_WORKERS="ten"`) ||
			!strings.Contains(msg, "positive integer") {
			t.Fatalf("panic message %q: want one line naming the variable, its value and what it should be", msg)
		}
	}()
	MustRegister(app, DefaultConfig())
}

// bootstrappedApp returns a new app on SQLite, with the plugin registered
// with cfg before it was bootstrapped, as an app's main function does, and
// what the plugin logged through it.
func bootstrappedApp(t *testing.T, cfg Config) (core.App, *logRecorder) {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	log := &logRecorder{}
	if err := Register(loggedApp{App: app, log: log}, cfg); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := app.Bootstrap(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	t.Cleanup(func() { _ = app.ResetBootstrapState() })
	return app, log
}
