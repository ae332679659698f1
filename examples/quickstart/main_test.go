package main

import (
	"bytes"
	"encoding/json"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"github.com/pocketbase-jobs/jobs/internal/testpoll"
)

func TestSendDigestRunsTheMailDigestHandler(t *testing.T) {
	output := captureLog(t)
	app, mux := serveQuickstart(t)

	id := post(t, mux, "/send-digest")
	waitStatus(t, app, id, jobs.StatusCompleted)
	if !strings.Contains(output.String(), "Processing mail digest for user: 123") {
		t.Fatalf("the mail_digest handler did not log its line; log output:\n%s", output)
	}
}

func TestFlakyWebhookEndsFailedAndCanBeRequeued(t *testing.T) {
	app, mux := serveQuickstart(t)

	id := post(t, mux, "/flaky-webhook")
	job := waitStatus(t, app, id, jobs.StatusFailed)
	if job.Attempts != 3 || !strings.Contains(job.LastError, "503") {
		t.Fatalf("failed flaky_webhook job: attempts %d, last error %q; want 3 attempts failing with 503", job.Attempts, job.LastError)
	}
	requeued, err := jobs.GetJobStore(app).Requeue(id)
	if err != nil {
		t.Fatalf("requeue: %v", err)
	}
	if requeued.Status != jobs.StatusPending || requeued.Retries != 0 {
		t.Fatalf("requeued job: status %s, retries %d", requeued.Status, requeued.Retries)
	}
}

func TestMailDigestWithAPayloadItCannotDecodeFails(t *testing.T) {
	app, _ := serveQuickstart(t)

	job, err := jobs.GetJobStore(app).Enqueue("mail_digest", "not an object")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first attempt to fail", func() bool {
		got, err := jobs.GetJobStore(app).Get(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == jobs.StatusCompleted {
			t.Fatal("a mail_digest job whose payload cannot be decoded completed")
		}
		return got.LastError != ""
	})
}

// serveQuickstart sets the quick start up on a new app, bootstraps and serves
// it (which starts the dispatcher), and returns the app and its routes. The
// app is terminated when t ends.
func serveQuickstart(t *testing.T) (core.App, http.Handler) {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	if err := setUp(app); err != nil {
		t.Fatalf("set up: %v", err)
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

	router, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	var mux http.Handler
	serve := &core.ServeEvent{App: app, Router: router}
	if err := app.OnServe().Trigger(serve, func(e *core.ServeEvent) error {
		var err error
		mux, err = e.Router.BuildMux()
		return err
	}); err != nil {
		t.Fatalf("serve: %v", err)
	}
	return app, mux
}

// post sends a POST request to path and returns the job_id it answers with.
func post(t *testing.T, mux http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
	var body struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); rec.Code != http.StatusOK || err != nil || body.JobID == "" {
		t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
	}
	return body.JobID
}

// waitStatus waits until job id has status, and returns it.
func waitStatus(t *testing.T, app core.App, id, status string) *jobs.Job {
	t.Helper()
	var job *jobs.Job
	waitFor(t, "job "+id+" to be "+status, func() bool {
		var err error
		if job, err = jobs.GetJobStore(app).Get(id); err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		return job.Status == status
	})
	return job
}

// waitFor polls cond until it holds, for at most 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testpoll.Until(t, 20*time.Second, what, cond)
}

// captureLog sends the standard logger's output to the returned buffer
// until t ends.
func captureLog(t *testing.T) *lockedBuffer {
	t.Helper()
	buf := new(lockedBuffer)
	previous := log.Writer()
	log.SetOutput(buf)
	t.Cleanup(func() { log.SetOutput(previous) })
	return buf
}

// lockedBuffer is a bytes.Buffer safe for concurrent use: handlers log from
// the dispatcher's goroutines while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
