package jobs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

func TestRegisterTwiceIsAnError(t *testing.T) {
	app := newApp(t, backends[0], testConfig())
	expectErr(t, Register(app, testConfig()), ErrAlreadyRegistered)
	defer func() {
		if err, _ := recover().(error); !errors.Is(err, ErrAlreadyRegistered) {
			t.Fatalf("MustRegister twice panicked with %v", err)
		}
	}()
	MustRegister(app, testConfig())
}

func TestRegisterBeforeBootstrapCreatesTableOnBootstrap(t *testing.T) {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	if err := Register(app, testConfig()); err != nil {
		t.Fatal(err)
	}
	store := GetJobStore(app)
	_, err := store.Enqueue("t", nil)
	expectErr(t, err, ErrNotReady)
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	defer app.ResetBootstrapState()
	if _, err := store.Enqueue("t", nil); err != nil {
		t.Fatalf("enqueue after bootstrap: %v", err)
	}
	// A second bootstrap (as after a restart) keeps the data.
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	stats, err := store.Stats()
	if err != nil || stats.Total != 1 {
		t.Fatalf("stats after re-bootstrap %+v %v", stats, err)
	}
}

func TestEnqueueInBootstrapAfterNext(t *testing.T) {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	// Registered first, as in the README's quick start: the user's
	// hook, bound later, must still find the store open after e.Next().
	if err := Register(app, testConfig()); err != nil {
		t.Fatal(err)
	}
	var enqueueErr error
	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		_, enqueueErr = GetJobStore(e.App).Enqueue("seed", nil)
		return nil
	})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	defer app.ResetBootstrapState()
	if enqueueErr != nil {
		t.Fatalf("enqueue in OnBootstrap after e.Next(): %v", enqueueErr)
	}
}

func TestDisabledRegistersNothingAndNeverPanics(t *testing.T) {
	t.Setenv("PB_JOBS_DISABLED", "true")
	app := newApp(t, backends[0], DefaultConfig())
	store := GetJobStore(app)
	if store == nil {
		t.Fatal("GetJobStore returned nil")
	}
	expectErr(t, store.Register("t", func(*Job) error { return nil }), ErrDisabled)
	_, err := store.Enqueue("t", nil)
	expectErr(t, err, ErrDisabled)
	_, err = store.List(nil)
	expectErr(t, err, ErrDisabled)
	expectErr(t, store.Start(), ErrDisabled)
	expectErr(t, store.Stop(), ErrDisabled)
	exists := app.HasTable("_jobs")
	if exists {
		t.Fatal("a disabled plugin created the _jobs table")
	}
	err = app.RunInTransaction(func(txApp core.App) error {
		_, err := GetJobStore(txApp).Enqueue("t", nil)
		return err
	})
	expectErr(t, err, ErrDisabled)
}

func TestStoreOfUnregisteredApp(t *testing.T) {
	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()
	_, err = GetJobStore(app).Enqueue("t", nil)
	expectErr(t, err, ErrNotRegistered)
	_, err = GetJobStore(nil).Get("x")
	expectErr(t, err, ErrNotRegistered)
}

func TestMigrationsAreVersionedAndIdempotent(t *testing.T) {
	app := newApp(t, backends[0], testConfig())
	var versions []int
	if err := app.DB().NewQuery("SELECT version FROM _jobs_schema ORDER BY version").Column(&versions); err != nil {
		t.Fatal(err)
	}
	if len(versions) == 0 || versions[0] != 1 {
		t.Fatalf("schema versions %v", versions)
	}
	p := GetJobStore(app).p
	if err := p.open(app); err != nil {
		t.Fatalf("migrating again: %v", err)
	}
	var again []int
	_ = app.DB().NewQuery("SELECT version FROM _jobs_schema ORDER BY version").Column(&again)
	if len(again) != len(versions) {
		t.Fatalf("a second migration recorded versions again: %v", again)
	}
}

func TestAutoStartRunsOnServeOnly(t *testing.T) {
	cfg := testConfig()
	cfg.AutoStart = true
	app := newApp(t, backends[0], cfg)
	store := GetJobStore(app)
	if err := store.Register("t", func(*Job) error { return nil }); err != nil {
		t.Fatal(err)
	}
	job := mustEnqueue(t, store, "t", nil, nil)
	// Bootstrapping (what CLI commands do) runs no job.
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.Get(job.ID); got.Status != StatusPending || dispatcherRunning(store) {
		t.Fatalf("bootstrap started the dispatcher (job %s)", got.Status)
	}
	// Serving does.
	serveEvent := new(core.ServeEvent)
	serveEvent.App = app
	if err := app.OnServe().Trigger(serveEvent, func(e *core.ServeEvent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, store, job.ID, StatusCompleted)
}

func TestEnvOverridesCode(t *testing.T) {
	env := map[string]string{
		"PB_JOBS_WORKERS":          "7",
		"PB_JOBS_POLL_INTERVAL":    "250ms",
		"PB_JOBS_LOCK_DURATION":    "2m",
		"PB_JOBS_BATCH_SIZE":       "3",
		"PB_JOBS_MAX_RETRIES":      "9",
		"PB_JOBS_MAX_PAYLOAD_SIZE": "2048",
		"PB_JOBS_HTTP_ENABLED":     "false",
		"PB_JOBS_AUTO_START":       "false",
		"PB_JOBS_SHUTDOWN_TIMEOUT": "3s",
		"PB_JOBS_ALLOWED_TOPICS":   "a, b",
		"PB_JOBS_RETENTION":        "48h",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg, err := DefaultConfig().resolve()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workers != 7 || cfg.PollInterval != 250*time.Millisecond || cfg.LockDuration != 2*time.Minute ||
		cfg.BatchSize != 3 || cfg.MaxRetries != 9 || cfg.MaxPayloadSize != 2048 || cfg.HTTPEnabled ||
		cfg.AutoStart || cfg.ShutdownTimeout != 3*time.Second || strings.Join(cfg.AllowedTopics, "|") != "a|b" || cfg.Retention != 48*time.Hour {
		t.Fatalf("env not applied: %+v", cfg)
	}

	// And through Register, on a real store.
	app := newApp(t, backends[0], DefaultConfig())
	p := GetJobStore(app).p
	if p.config.Workers != 7 || p.config.MaxPayloadSize != 2048 {
		t.Fatalf("Register ignored the environment: %+v", p.config)
	}
	_, err = GetJobStore(app).Enqueue("t", strings.Repeat("x", 2048))
	expectErr(t, err, ErrPayloadTooLarge)
}

func TestBadEnvValuesAreErrorsNamingTheVariable(t *testing.T) {
	cases := map[string]string{
		"PB_JOBS_WORKERS":          "abc",
		"PB_JOBS_POLL_INTERVAL":    "fast",
		"PB_JOBS_LOCK_DURATION":    "5",
		"PB_JOBS_BATCH_SIZE":       "1.5",
		"PB_JOBS_DISABLED":         "maybe",
		"PB_JOBS_HTTP_ENABLED":     "yes please",
		"PB_JOBS_AUTO_START":       "2",
		"PB_JOBS_MAX_RETRIES":      "-1",
		"PB_JOBS_MAX_PAYLOAD_SIZE": "1MB",
		"PB_JOBS_RETENTION":        "7d",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			app, err := tests.NewTestApp()
			if err != nil {
				t.Fatal(err)
			}
			defer app.Cleanup()
			err = Register(app, DefaultConfig())
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), name) {
				t.Fatalf("Register with %s=%q: %v", name, value, err)
			}
			if GetJobStore(app).p != nil {
				t.Fatal("a failed Register left a store behind")
			}
		})
	}
}

func TestBadConfigValues(t *testing.T) {
	cases := []struct {
		field  string
		mutate func(*Config)
	}{
		{"Workers", func(c *Config) { c.Workers = -1 }},
		{"PollInterval", func(c *Config) { c.PollInterval = -time.Second }},
		{"BatchSize", func(c *Config) { c.BatchSize = -3 }},
		{"MaxRetries", func(c *Config) { c.MaxRetries = NoRetries - 1 }},
		{"MaxRetries", func(c *Config) { c.MaxRetries = MaxRetriesLimit + 1 }},
		{"MaxPayloadSize", func(c *Config) { c.MaxPayloadSize = -1 }},
		{"AllowedTopics", func(c *Config) { c.AllowedTopics = []string{"a", " "} }},
		{"PostgresDSN", func(c *Config) { c.PostgresDSN = "postgres://host:notaport/db" }},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.mutate(&cfg)
		if _, err := cfg.resolve(); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v", c.field, err)
		}
	}
}

func TestDefaultConfigMatchesTheREADME(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.Disabled || cfg.Workers != 10 || cfg.PollInterval != time.Second || cfg.LockDuration != 5*time.Minute ||
		cfg.BatchSize != 10 || cfg.MaxRetries != 3 || cfg.MaxPayloadSize != 1<<20 || !cfg.HTTPEnabled ||
		cfg.EnqueueRule != "" || cfg.ManageRule != "" || len(cfg.AllowedTopics) != 0 || !cfg.AutoStart {
		t.Fatalf("DefaultConfig %+v", cfg)
	}
}
