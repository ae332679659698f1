package jobscmd

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// TestMain runs the tests, then stops the throwaway PostgreSQL server. Run
// as a child of TestCommand* tests (envChildApp set), the test binary is a
// PocketBase app with the jobs command instead (see runChildApp).
func TestMain(m *testing.M) {
	if os.Getenv(envChildApp) != "" {
		runChildApp()
		return
	}
	os.Exit(pgtest.Run(m))
}

// backend is one job database the tests run against.
type backend struct {
	name string
	// configure points cfg at the backend's database for test t.
	configure func(t testing.TB, cfg *jobs.Config)
}

// backends lists the job databases.
var backends = []backend{
	{name: "sqlite", configure: func(testing.TB, *jobs.Config) {}},
	{name: "postgres", configure: func(t testing.TB, cfg *jobs.Config) { cfg.PostgresDSN = pgtest.DSN(t) }},
}

// eachBackend runs body as one parallel subtest per backend.
func eachBackend(t *testing.T, body func(t *testing.T, b backend)) {
	t.Helper()
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			body(t, b)
		})
	}
}

// newApp returns a bootstrapped app with the jobs plugin on backend b's
// database, as a PocketBase command finds it; setUp, if not nil, runs at
// bootstrap as an app's own code would (registering handlers, declaring
// schedules). The app is terminated when t ends.
func newApp(t *testing.T, b backend, setUp func(store *jobs.JobStore) error) core.App {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	cfg := jobs.DefaultConfig()
	b.configure(t, &cfg)
	if err := jobs.Register(app, cfg); err != nil {
		t.Fatalf("register jobs: %v", err)
	}
	if setUp != nil {
		app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			return setUp(jobs.GetJobStore(e.App))
		})
	}
	if err := app.Bootstrap(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	t.Cleanup(func() {
		terminate := &core.TerminateEvent{App: app}
		if err := app.OnTerminate().Trigger(terminate, func(e *core.TerminateEvent) error {
			return e.App.ResetBootstrapState()
		}); err != nil {
			t.Errorf("terminate: %v", err)
		}
	})
	return app
}

// output is what one command printed, and the error it returned.
type output struct {
	stdout, stderr string
	err            error
}

// run runs the command line args (without the program's name) on a new
// root command with the jobs command of app, and returns its output. A
// failure's exit is not taken (see TestAFailedCommandExitsWithStatus1).
func run(t *testing.T, app core.App, args ...string) output {
	t.Helper()
	return runWithInput(t, app, "", args...)
}

// runWithInput is run with stdin as the standard input.
func runWithInput(t *testing.T, app core.App, stdin string, args ...string) output {
	t.Helper()
	root := &cobra.Command{Use: "app"}
	if err := register(app, root, func(int) {}); err != nil {
		t.Fatalf("register jobscmd: %v", err)
	}
	var stdout, stderr bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&stdout)
	jobsCommand(t, root).SetErr(&stderr) // it has its own, os.Stderr
	root.SetArgs(args)
	err := root.Execute()
	return output{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// jobsCommand returns the jobs command of root.
func jobsCommand(t *testing.T, root *cobra.Command) *cobra.Command {
	t.Helper()
	cmd, _, err := root.Find([]string{"jobs"})
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// mustRun is run for a command that must succeed; it returns its stdout.
func mustRun(t *testing.T, app core.App, args ...string) string {
	t.Helper()
	out := run(t, app, args...)
	if out.err != nil {
		t.Fatalf("%s: %v (stderr %q)", strings.Join(args, " "), out.err, out.stderr)
	}
	return out.stdout
}

// mustFail is run for a command that must fail; it returns its error's
// message, and checks that it was printed as one line, without usage.
func mustFail(t *testing.T, app core.App, args ...string) string {
	t.Helper()
	out := run(t, app, args...)
	if out.err == nil {
		t.Fatalf("%s succeeded, printing %q; want an error", strings.Join(args, " "), out.stdout)
	}
	if want := "Error: " + out.err.Error() + "\n"; out.stderr != want {
		t.Fatalf("%s: stderr %q, want the one line %q", strings.Join(args, " "), out.stderr, want)
	}
	return out.err.Error()
}
