package jobscmd

import (
	"bytes"
	"errors"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
)

// The test binary runs as a PocketBase app (runChildApp) when envChildApp
// is set, so tests can run the jobs command as a user does: in a process of
// its own, through PocketBase's Start, with its exit status.
const (
	envChildApp = "JOBSCMD_TEST_CHILD_APP"
	// envRanMarker names a file the child's handler of childTopic creates
	// when it runs a job.
	envRanMarker = "JOBSCMD_TEST_RAN_MARKER"
	// childTopic is the topic the child app has a handler for.
	childTopic = "work"
)

// runChildApp is the main of the child app: PocketBase with the jobs plugin
// (AutoStart, the default), a handler for childTopic and the jobs command.
func runChildApp() {
	app := pocketbase.NewWithConfig(pocketbase.Config{HideStartBanner: true})
	jobs.MustRegister(app, jobs.DefaultConfig())
	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		return jobs.GetJobStore(e.App).Register(childTopic, func(*jobs.Job) error {
			return os.WriteFile(os.Getenv(envRanMarker), []byte("ran"), 0o600)
		})
	})
	MustRegister(app, app.RootCmd)
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}

// child is a data directory (and a job database) used by child apps.
type child struct {
	dir, marker string
	env         []string
}

// newChild returns a child app setting for backend b.
func newChild(t *testing.T, b backend) *child {
	t.Helper()
	dir := t.TempDir()
	var cfg jobs.Config
	b.configure(t, &cfg)
	c := &child{dir: filepath.Join(dir, "pb_data"), marker: filepath.Join(dir, "ran")}
	c.env = append(os.Environ(), envChildApp+"=1", envRanMarker+"="+c.marker)
	if cfg.PostgresDSN != "" {
		c.env = append(c.env, "PB_JOBS_POSTGRES_DSN="+cfg.PostgresDSN)
	}
	return c
}

// run runs the child app with args on the child's data directory, and
// returns its stdout, stderr and exit status.
func (c *child) run(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append(args, "--dir", c.dir, "--dev=false")...)
	cmd.Env = c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		status = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run the child app: %v", err)
	}
	return out.String(), errOut.String(), status
}

// ran tells whether the child's handler ran a job.
func (c *child) ran(t *testing.T) bool {
	t.Helper()
	_, err := os.Stat(c.marker)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}
