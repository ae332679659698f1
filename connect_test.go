package jobs

import (
	"net/http"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/pgtest"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// TestPostgresDownAtStart bootstraps an app whose PostgreSQL job database is
// down. The app starts all the same; the store answers ErrUnavailable (the
// HTTP API 503) instead of failing the app; and once the server is up, the
// plugin connects by itself and a dispatcher started meanwhile works jobs.
func TestPostgresDownAtStart(t *testing.T) {
	srv := pgtest.StartRestartable(t)
	srv.Stop("fast")

	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatalf("new test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	cfg := testConfig()
	cfg.PostgresDSN = srv.DSN()
	cfg.HTTPEnabled = true
	// The test app is bootstrapped already: Register opens the job
	// database at once, as a bootstrap would.
	if err := Register(app, cfg); err != nil {
		t.Fatalf("Register with PostgreSQL down: %v", err)
	}
	store := GetJobStore(app)

	_, err = store.Enqueue("report", nil)
	expectErr(t, err, ErrUnavailable)
	_, err = store.Stats()
	expectErr(t, err, ErrUnavailable)
	expectStatsStatus(t, app, http.StatusServiceUnavailable)

	ran := make(chan string, 1)
	if err := store.Register("report", func(job *Job) error {
		ran <- job.ID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := store.Start(); err != nil {
		t.Fatalf("Start with PostgreSQL down: %v", err)
	}

	srv.Start()
	var job *Job
	waitFor(t, 2*maxReopenWait, "the job database to be available", func() bool {
		job, err = store.Enqueue("report", nil)
		return err == nil
	})
	select {
	case id := <-ran:
		if id != job.ID {
			t.Fatalf("ran job %s, want %s", id, job.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dispatcher started while PostgreSQL was down did not run the job")
	}
	waitStatus(t, store, job.ID, StatusCompleted)
}

// expectStatsStatus asks app's GET /api/jobs/stats as a superuser and checks
// the answer's status.
func expectStatsStatus(t *testing.T, app *tests.TestApp, status int) {
	t.Helper()
	superuser, err := app.FindAuthRecordByEmail(core.CollectionNameSuperusers, "test@example.com")
	if err != nil {
		t.Fatal(err)
	}
	token, err := superuser.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	scenario := tests.ApiScenario{
		Name:                  "stats while the job database is unavailable",
		Method:                http.MethodGet,
		URL:                   "/api/jobs/stats",
		Headers:               map[string]string{"Authorization": token},
		ExpectedStatus:        status,
		ExpectedContent:       []string{`"status":503`, "unavailable"},
		TestAppFactory:        func(testing.TB) *tests.TestApp { return app },
		DisableTestAppCleanup: true,
	}
	scenario.Test(t)
}
