package jobsjs

import (
	"encoding/json"

	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/plugins/jsvm"
)

// A route of a pb_hooks file enqueues with $jobs, and the file's handler
// runs the job on jsvm's pool, with $app and $http.
func TestRouteEnqueuesAndHandlerRuns(t *testing.T) {
	seen := make(chan map[string]any, 1)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode the handler's request: %v", err)
		}
		seen <- body
		w.WriteHeader(http.StatusNoContent)
	}))
	defer target.Close()

	app := newHooksApp(t, map[string]string{"main.pb.js": source(`
routerAdd("POST", "/digest", (e) => {
	const job = $jobs.enqueue("mail_digest", {user_id: "u1"}, {priority: 5, uniqueKey: "u1"})
	return e.json(200, job)
})

onJobRun((e) => {
	const res = $http.send({
		url: "TARGET",
		method: "POST",
		body: JSON.stringify({
			app: $app.settings().meta.appName,
			id: e.job.id,
			user: e.job.payload.user_id,
			priority: e.job.priority,
			key: e.job.unique_key,
		}),
	})
	if (res.statusCode !== 204) {
		throw new Error("target answered " + res.statusCode)
	}
	e.next()
}, "mail_digest")
`, map[string]string{"TARGET": target.URL})}, nil)

	rec := app.serve(t, httptest.NewRequest(http.MethodPost, "/digest", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /digest: %d %s", rec.Code, rec.Body)
	}
	var enqueued map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &enqueued); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	if enqueued["status"] != jobs.StatusPending || enqueued["unique_key"] != "u1" || enqueued["max_retries"] != 3.0 {
		t.Fatalf("the route answered %v, want the pending job in the HTTP API's shape", enqueued)
	}
	id, _ := enqueued["id"].(string)

	app.waitStatus(t, id, jobs.StatusCompleted)
	body := <-seen
	want := map[string]any{"app": app.Settings().Meta.AppName, "id": id, "user": "u1", "priority": 5.0, "key": "u1"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("the handler sent %s = %v, want %v (all: %v)", k, body[k], v, body)
		}
	}
}

// What a handler throws, or returns, decides its attempt: the job's
// last_error is the thrown message, without the stack.
func TestHandlerErrorsFailAttempts(t *testing.T) {
	app := newHooksApp(t, map[string]string{"main.pb.js": `
onJobRun((e) => { throw new Error("boom " + e.job.payload.n) }, "throws_error")
onJobRun((e) => { e.job.payload.missing.field }, "type_error")
onJobRun((e) => { throw "plain text" }, "throws_string")
onJobRun((e) => { return $jobs.skipRetry("card declined") }, "skips_retry")
onJobRun((e) => { throw $jobs.skipRetry("thrown skip") }, "throws_skip")
`}, nil)

	cases := []struct {
		topic      string
		maxRetries int
		lastError  string
	}{
		{"throws_error", jobs.NoRetries, "boom 7"},
		{"type_error", jobs.NoRetries, "TypeError: Cannot read property 'field' of undefined"},
		{"throws_string", jobs.NoRetries, "plain text"},
		{"skips_retry", 3, "card declined"},
		{"throws_skip", 3, "thrown skip"},
	}
	for _, c := range cases {
		t.Run(c.topic, func(t *testing.T) {
			job, err := app.store.EnqueueWithOptions(c.topic, map[string]any{"n": 7}, &jobs.JobEnqueueOptions{MaxRetries: c.maxRetries})
			if err != nil {
				t.Fatalf("enqueue: %v", err)
			}
			failed := app.waitStatus(t, job.ID, jobs.StatusFailed)
			if failed.LastError != c.lastError || failed.Attempts != 1 {
				t.Fatalf("last_error %q after %d attempts, want %q after 1", failed.LastError, failed.Attempts, c.lastError)
			}
		})
	}
}

// $jobs.snooze() returned by a handler puts the job back, the attempt given
// back.
func TestHandlerSnoozes(t *testing.T) {
	app := newHooksApp(t, map[string]string{"main.pb.js": `
onJobRun((e) => { return $jobs.snooze(3600 * 1000) }, "snoozes")
`}, nil)
	job, err := app.store.Enqueue("snoozes", nil)
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	var snoozed *jobs.Job
	waitFor(t, 10*time.Second, "the job to be snoozed", func() bool {
		snoozed, err = app.store.Get(job.ID)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		return snoozed.Status == jobs.StatusPending && snoozed.RunAt.After(time.Now().Add(59*time.Minute))
	})
	if snoozed.Attempts != 0 || snoozed.LastError != "" {
		t.Fatalf("snoozed job has attempts %d, last_error %q: want the attempt given back", snoozed.Attempts, snoozed.LastError)
	}
}

// Handlers of one topic run in the order bound, each passing the job on
// with e.next(); the topic has one handler in the store however large
// jsvm's pool. (jsvm loads pb_hooks files in no set order: the order holds
// within a file.)
func TestHandlersOfTopicChain(t *testing.T) {
	handler := func(mark string) string {
		return `onJobRun((e) => {
	$app.store().set("order", ($app.store().get("order") || "") + "` + mark + `")
	e.next()
}, "chained", "other")
`
	}
	app := newHooksApp(t, map[string]string{
		"a.pb.js": handler("a") + handler("b"),
		"b.pb.js": `onJobRun((e) => e.next(), "other")`,
	}, nil)

	job, err := app.store.Enqueue("chained", nil)
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	app.waitStatus(t, job.ID, jobs.StatusCompleted)
	if order := app.Store().Get("order"); order != "ab" {
		t.Fatalf("handlers ran as %q, want \"ab\"", order)
	}
	topics, err := app.store.Topics()
	if err != nil {
		t.Fatalf("topics: %v", err)
	}
	handled := map[string]bool{}
	for _, info := range topics {
		handled[info.Topic] = info.HasHandler
	}
	if !handled["chained"] || !handled["other"] {
		t.Fatalf("topics %+v: want chained and other handled", topics)
	}
}

// Two jobs run at once: each handler waits, on a barrier added by the app's
// own OnInit, until the other has started.
func TestHandlersRunConcurrently(t *testing.T) {
	barrier := newBarrier(2)
	app := newHooksApp(t, map[string]string{"main.pb.js": `
onJobRun((e) => {
	if (!arrive()) {
		throw new Error("ran alone")
	}
	e.next()
}, "together")
`}, func(vm *goja.Runtime) {
		vm.Set("arrive", func() bool { return barrier.arrive(5 * time.Second) })
	})

	var ids []string
	for range 2 {
		job, err := app.store.Enqueue("together", nil)
		if err != nil {
			t.Fatalf("enqueue: %v", err)
		}
		ids = append(ids, job.ID)
	}
	for _, id := range ids {
		if job := app.waitStatus(t, id, jobs.StatusCompleted); job.Attempts != 1 {
			t.Fatalf("job %s completed after %d attempts, want 1", id, job.Attempts)
		}
	}
}

// barrier lets goroutines wait until n of them have arrived.
type barrier struct {
	mu      sync.Mutex
	arrived int
	all     chan struct{}
	n       int
}

// newBarrier returns a barrier for n goroutines.
func newBarrier(n int) *barrier {
	return &barrier{all: make(chan struct{}), n: n}
}

// arrive waits until n goroutines have arrived, or within passes; it tells
// whether they all did.
func (b *barrier) arrive(within time.Duration) bool {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return true
	case <-time.After(within):
		return false
	}
}

// A PocketBase app that is not bootstrapped yet gets the handlers of its
// pb_hooks files registered, and jobs.d.ts written, when it bootstraps; its
// $app keeps the fields of *pocketbase.PocketBase.
func TestHandlersRegisteredAtBootstrap(t *testing.T) {
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDataDir: t.TempDir(), HideStartBanner: true})
	cfg := jobs.DefaultConfig()
	cfg.AutoStart, cfg.HTTPEnabled = false, false
	if err := jobs.Register(app, cfg); err != nil {
		t.Fatalf("register jobs: %v", err)
	}
	typesDir := t.TempDir()
	err := Register(app, jsvm.Config{
		HooksDir: writeHooks(t, map[string]string{"main.pb.js": `
$app.rootCmd.addCommand(new Command({use: "hello"}))
onJobRun((e) => e.next(), "at_bootstrap")
`}),
		MigrationsDir: t.TempDir(),
		TypesDir:      typesDir,
	})
	if err != nil {
		t.Fatalf("register jobsjs: %v", err)
	}
	if cmd, _, err := app.RootCmd.Find([]string{"hello"}); err != nil || cmd.Use != "hello" {
		t.Fatalf("$app.rootCmd.addCommand added no command: %v", err)
	}
	if err := app.Bootstrap(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	t.Cleanup(func() { app.ResetBootstrapState() })

	topics, err := jobs.GetJobStore(app).Topics()
	if err != nil {
		t.Fatalf("topics: %v", err)
	}
	if len(topics) != 1 || topics[0].Topic != "at_bootstrap" || !topics[0].HasHandler {
		t.Fatalf("topics %+v: want at_bootstrap handled", topics)
	}
	written, err := os.ReadFile(filepath.Join(typesDir, TypesFileName))
	if err != nil || !strings.Contains(string(written), "declare var $jobs: jobs.Jobs") {
		t.Fatalf("the types in %s: %v", TypesFileName, err)
	}
}

// A pb_hooks file giving onJobRun no topic fails, naming the mistake.
func TestHandlerWithoutTopicFails(t *testing.T) {
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDataDir: t.TempDir(), HideStartBanner: true})
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmtValue(r), "onJobRun needs at least one topic") {
			t.Fatalf("recovered %v, want the missing topic named", r)
		}
	}()
	Register(app, jsvm.Config{
		HooksDir:      writeHooks(t, map[string]string{"main.pb.js": `onJobRun((e) => e.next())`}),
		MigrationsDir: t.TempDir(),
		TypesDir:      t.TempDir(),
	})
}

// fmtValue returns the text of a recovered value.
func fmtValue(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	s, _ := v.(string)
	return s
}
