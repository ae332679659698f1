package jobs

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// Auth kinds of API test requests: who sends them. PocketBase's test data
// holds these records; apiFixture gives the users record test2@example.com
// the role "ops".
const (
	asGuest     = ""
	asUser      = "users:test@example.com"
	asOperator  = "users:test2@example.com"
	asClient    = "clients:test@example.com"
	asSuperuser = core.CollectionNameSuperusers + ":test@example.com"
)

// Rules of apiConfig: a users record may enqueue mail digests, an "ops" user
// may manage jobs.
const (
	testEnqueueRule = `@request.auth.collectionName = "users" && @request.body.topic = "mail_digest"`
	testManageRule  = `@request.auth.role = "ops"`
)

// apiTestMaxPayload is the MaxPayloadSize of apiConfig, small so that size
// tests send small bodies.
const apiTestMaxPayload = 1024

// apiConfig is the plugin configuration of the API tests: the test rules, a
// small payload limit and no AutoStart.
func apiConfig() Config {
	cfg := DefaultConfig()
	cfg.AutoStart = false
	cfg.PollInterval = 20 * time.Millisecond
	cfg.ShutdownTimeout = time.Second
	cfg.MaxPayloadSize = apiTestMaxPayload
	cfg.EnqueueRule = testEnqueueRule
	cfg.ManageRule = testManageRule
	return cfg
}

// apiFixture is a test app with the plugin registered, a "role" field on
// users, a job_operators collection listing test2@example.com, and one
// pending, one failed and one completed job.
type apiFixture struct {
	app *tests.TestApp
	cfg Config
	// served is set once a scenario served the app: newer PocketBase
	// versions bind routes for good on each serve, so a served app is not
	// served again and the next scenario gets a fresh fixture.
	served bool
	// ids holds the seeded job ids by status.
	ids map[string]string
}

// newAPIFixture builds a fixture with cfg, from a copy of the API
// template; it is cleaned up when t ends.
func newAPIFixture(t *testing.T, cfg Config) *apiFixture {
	t.Helper()
	dir, ids := apiTemplateDir(t)
	app, err := tests.NewTestApp(dir)
	if err != nil {
		t.Fatalf("new test app: %v", err)
	}
	t.Cleanup(app.Cleanup)
	if err := Register(app, cfg); err != nil {
		t.Fatalf("register: %v", err)
	}
	return &apiFixture{app: app, cfg: cfg, ids: ids}
}

// apiTemplate is a data directory holding what every API fixture starts
// from: PocketBase's test data with the operators added, and the job table
// with the seeded jobs. It is built once per test binary, so a fixture costs
// a copy and a bootstrap, not a schema change and three jobs run.
var apiTemplate struct {
	once sync.Once
	dir  string
	ids  map[string]string
}

// apiTemplateDir returns the template's directory and its seeded job ids,
// building it the first time; t is the test that pays for it.
func apiTemplateDir(t *testing.T) (string, map[string]string) {
	t.Helper()
	apiTemplate.once.Do(func() { apiTemplate.dir, apiTemplate.ids = buildAPITemplate(t) })
	if apiTemplate.dir == "" {
		t.Fatal("the API fixture template could not be built (see the first test that tried)")
	}
	return apiTemplate.dir, maps.Clone(apiTemplate.ids)
}

// buildAPITemplate builds the template in a directory of its own, which
// removeAPITemplate deletes.
func buildAPITemplate(t *testing.T) (string, map[string]string) {
	t.Helper()
	app, err := tests.NewTestApp()
	if err != nil {
		t.Fatalf("new test app: %v", err)
	}
	defer app.Cleanup()
	apiAddOperators(t, app)
	if err := Register(app, apiConfig()); err != nil {
		t.Fatalf("register: %v", err)
	}
	ids := apiSeedJobs(t, GetJobStore(app))
	if err := app.ResetBootstrapState(); err != nil { // closes the databases
		t.Fatalf("close the template's databases: %v", err)
	}
	dir, err := tests.TempDirClone(app.DataDir())
	if err != nil {
		t.Fatalf("copy the template: %v", err)
	}
	return dir, ids
}

// removeAPITemplate deletes the template, if one was built.
func removeAPITemplate() {
	if apiTemplate.dir != "" {
		os.RemoveAll(apiTemplate.dir)
	}
}

// apiAddOperators adds the role field to users, makes test2@example.com an
// "ops" user and lists it in a new job_operators collection.
func apiAddOperators(t *testing.T, app core.App) {
	t.Helper()
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatalf("find users: %v", err)
	}
	users.Fields.Add(&core.TextField{Name: "role"})
	if err := app.Save(users); err != nil {
		t.Fatalf("add the role field: %v", err)
	}
	operator, err := app.FindAuthRecordByEmail("users", "test2@example.com")
	if err != nil {
		t.Fatalf("find the operator: %v", err)
	}
	operator.Set("role", "ops")
	if err := app.Save(operator); err != nil {
		t.Fatalf("save the operator: %v", err)
	}

	operators := core.NewBaseCollection("job_operators")
	operators.Fields.Add(&core.RelationField{Name: "user", CollectionId: users.Id, MaxSelect: 1})
	if err := app.Save(operators); err != nil {
		t.Fatalf("create job_operators: %v", err)
	}
	entry := core.NewRecord(operators)
	entry.Set("user", operator.Id)
	if err := app.Save(entry); err != nil {
		t.Fatalf("add the operator to job_operators: %v", err)
	}
}

// apiSeedJobs enqueues a pending job (topic "idle", which has no handler) and
// runs one job to failure (topic "broken") and one to completion (topic
// "done"), with the dispatcher stopped again before it returns. It returns
// the job ids by status.
func apiSeedJobs(t *testing.T, store *JobStore) map[string]string {
	t.Helper()
	handlers := map[string]func(*Job) error{
		"broken": func(*Job) error { return errors.New("boom") },
		"done":   func(*Job) error { return nil },
	}
	for topic, h := range handlers {
		if err := store.Register(topic, h); err != nil {
			t.Fatalf("register %q: %v", topic, err)
		}
	}
	ids := map[string]string{}
	seeds := []struct{ topic, status string }{
		{"idle", StatusPending},
		{"broken", StatusFailed},
		{"done", StatusCompleted},
	}
	for _, s := range seeds {
		job, err := store.EnqueueWithOptions(s.topic, map[string]string{"seed": s.status}, &JobEnqueueOptions{MaxRetries: NoRetries})
		if err != nil {
			t.Fatalf("enqueue %q: %v", s.topic, err)
		}
		ids[s.status] = job.ID
	}
	if err := store.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	for _, s := range seeds {
		waitStatus(t, store, ids[s.status], s.status)
	}
	if err := store.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	return ids
}

// token returns the Authorization header value of an auth kind ("" for a
// guest).
func (f *apiFixture) token(t testing.TB, auth string) string {
	t.Helper()
	if auth == asGuest {
		return ""
	}
	collection, email, _ := strings.Cut(auth, ":")
	record, err := f.app.FindAuthRecordByEmail(collection, email)
	if err != nil {
		t.Fatalf("find %s: %v", auth, err)
	}
	token, err := record.NewAuthToken()
	if err != nil {
		t.Fatalf("token of %s: %v", auth, err)
	}
	return token
}

// snapshot returns every job as JSON: any write to the job table changes it.
func (f *apiFixture) snapshot(t testing.TB) string {
	t.Helper()
	list, err := GetJobStore(f.app).List(&JobFilter{Limit: MaxListLimit})
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	encoded, err := json.Marshal(list)
	if err != nil {
		t.Fatalf("encode jobs: %v", err)
	}
	return string(encoded)
}

// job returns the job with the given id, or nil when there is none.
func (f *apiFixture) job(t testing.TB, id string) *Job {
	t.Helper()
	job, err := GetJobStore(f.app).Get(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return job
}

// expectDeleted returns a check that the seeded job of status is gone.
func expectDeleted(status string) func(t testing.TB, f *apiFixture) {
	return func(t testing.TB, f *apiFixture) {
		if job := f.job(t, f.ids[status]); job != nil {
			t.Errorf("deleted job still exists: %+v", job)
		}
	}
}

// apiCase is one request to the HTTP API and what it must answer and do.
// In url and content, {pending}, {failed} and {completed} stand for the ids
// of the seeded jobs.
type apiCase struct {
	name   string
	method string
	url    string
	body   string
	// stream sends the body without a Content-Length.
	stream bool
	// unread fails the test if the server reads any byte of the body.
	unread  bool
	headers map[string]string
	auth    string
	status  int
	// content must all be in the (compacted JSON) response body; none means
	// the body must be empty.
	content []string
	// check verifies the jobs after the request; nil means that nothing may
	// have changed.
	check func(t testing.TB, f *apiFixture)
}

// run sends the request of c to the app of f and checks the answer and the
// jobs afterwards.
//
// The first case run on a fixture uses it as the caller prepared it, at
// once. A later case gets a fresh fixture with the same config, and runs in
// parallel with the test's other such cases, after the test's own body.
func (c apiCase) run(t *testing.T, f *apiFixture) {
	t.Helper()
	if !f.served {
		f.served = true
		c.serve(t, f)
		return
	}
	cfg := f.cfg
	t.Run(c.name, func(t *testing.T) {
		t.Parallel()
		c.serve(t, newAPIFixture(t, cfg))
	})
}

// serve sends the request of c to the app of f, which has not served yet,
// and checks the answer and the jobs afterwards.
func (c apiCase) serve(t *testing.T, f *apiFixture) {
	t.Helper()
	f.served = true
	ids := strings.NewReplacer(
		"{pending}", f.ids[StatusPending],
		"{failed}", f.ids[StatusFailed],
		"{completed}", f.ids[StatusCompleted],
	)
	headers := map[string]string{}
	for k, v := range c.headers {
		headers[k] = v
	}
	if token := f.token(t, c.auth); token != "" {
		headers["Authorization"] = token
	}
	content := make([]string, len(c.content))
	for i, s := range c.content {
		content[i] = ids.Replace(s)
	}
	var body io.Reader = strings.NewReader(c.body)
	if c.stream {
		body = io.MultiReader(body) // not a *strings.Reader: the length is unknown
	}
	recorder := &readRecorder{r: body}
	if c.unread {
		body = recorder // not a *strings.Reader either: the length is unknown
	}
	before := f.snapshot(t)
	scenario := tests.ApiScenario{
		Name:                  c.name,
		Method:                c.method,
		URL:                   ids.Replace(c.url),
		Body:                  body,
		Headers:               headers,
		ExpectedStatus:        c.status,
		ExpectedContent:       content,
		TestAppFactory:        func(testing.TB) *tests.TestApp { return f.app },
		DisableTestAppCleanup: true, // newAPIFixture's t.Cleanup does it
		AfterTestFunc: func(t testing.TB, _ *tests.TestApp, _ *http.Response) {
			if recorder.read {
				t.Error("the server read the body")
			}
			if c.check != nil {
				c.check(t, f)
				return
			}
			if after := f.snapshot(t); after != before {
				t.Errorf("jobs changed:\nbefore %s\nafter  %s", before, after)
			}
		},
	}
	scenario.Test(t)
}

// readRecorder is a request body that records whether it was read.
type readRecorder struct {
	r    io.Reader
	read bool
}

// Read implements io.Reader.
func (r *readRecorder) Read(p []byte) (int, error) {
	r.read = true
	return r.r.Read(p)
}
