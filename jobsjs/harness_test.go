package jobsjs

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/plugins/jsvm"
	"github.com/pocketbase/pocketbase/tests"

	"github.com/pocketbase-jobs/jobs/internal/testpoll"
)

// hooksApp is a test app with the jobs plugin and its JavaScript bindings
// over a pb_hooks directory of the test's files, its dispatcher started.
type hooksApp struct {
	*tests.TestApp
	store *jobs.JobStore
}

// newHooksApp writes files (name → source) to a temporary pb_hooks
// directory and returns an app running them, with onInit (if any) as
// jsvm's OnInit.
func newHooksApp(t *testing.T, files map[string]string, onInit func(vm *goja.Runtime)) *hooksApp {
	t.Helper()
	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatalf("new test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	cfg := jobs.DefaultConfig()
	cfg.AutoStart, cfg.HTTPEnabled = false, false
	cfg.PollInterval = 50 * time.Millisecond
	if err := jobs.Register(app, cfg); err != nil {
		t.Fatalf("register jobs: %v", err)
	}
	err = Register(app, jsvm.Config{
		HooksDir:      writeHooks(t, files),
		HooksPoolSize: 2,
		MigrationsDir: t.TempDir(),
		TypesDir:      t.TempDir(),
		OnInit:        onInit,
	})
	if err != nil {
		t.Fatalf("register jobsjs: %v", err)
	}
	store := jobs.GetJobStore(app)
	if err := store.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { store.Stop() })
	return &hooksApp{TestApp: app, store: store}
}

// writeHooks writes files to a new pb_hooks directory and returns its path.
func writeHooks(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, source := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(source), 0o644); err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
	}
	return dir
}

// serve answers req with the app's routes, those of pb_hooks files included,
// as PocketBase's own API tests do.
func (a *hooksApp) serve(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	router, err := apis.NewRouter(a)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	rec := httptest.NewRecorder()
	err = a.OnServe().Trigger(&core.ServeEvent{App: a, Router: router}, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		if err != nil {
			return err
		}
		mux.ServeHTTP(rec, req)
		return nil
	})
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	return rec
}

// waitStatus waits until job id has status and returns it.
func (a *hooksApp) waitStatus(t *testing.T, id, status string) *jobs.Job {
	t.Helper()
	var job *jobs.Job
	waitFor(t, 10*time.Second, "job "+id+" to be "+status, func() bool {
		var err error
		job, err = a.store.Get(id)
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		return job.Status == status
	})
	return job
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testpoll.Until(t, within, what, cond)
}

// source returns js with each key of vars replaced by its value: a
// handler's source is run on its own, so it sees no variable of its file.
func source(js string, vars map[string]string) string {
	for k, v := range vars {
		js = strings.ReplaceAll(js, k, v)
	}
	return js
}
