package jobsjs

import (
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/pocketbase-jobs/jobs"
)

// newJobsVM returns a bare runtime with $app and $jobs over app.
func newJobsVM(t *testing.T, app *hooksApp) *goja.Runtime {
	t.Helper()
	vm := goja.New()
	if err := vm.Set("$app", app.TestApp); err != nil {
		t.Fatalf("set $app: %v", err)
	}
	bindJobs(vm, app.TestApp)
	return vm
}

// run runs script in vm and returns its value exported, failing on a throw.
func run(t *testing.T, vm *goja.Runtime, script string) any {
	t.Helper()
	v, err := vm.RunString(script)
	if err != nil {
		t.Fatalf("%s\nthrew: %v", script, err)
	}
	return v.Export()
}

// $jobs calls answer with plain objects in the HTTP API's shape.
func TestJobsCallsAnswerPlainObjects(t *testing.T) {
	app := newHooksApp(t, nil, nil)
	vm := newJobsVM(t, app)

	got := run(t, vm, `
const runAt = new Date(Date.UTC(2030, 0, 2, 3, 4, 5))
const job = $jobs.enqueue("js_topic", {user_id: "u1", tags: ["a"]}, {runAt, maxRetries: 0, priority: 7, uniqueKey: "k"})
const dup = $jobs.enqueue("js_topic", {}, {uniqueKey: "k"})
const list = $jobs.list({topic: "js_topic", status: "pending", limit: 5})
const stats = $jobs.stats()
const cancelled = $jobs.cancel(job.id)
const requeued = $jobs.requeue(job.id)
$jobs.pause("js_topic")
const paused = $jobs.topics().find((t) => t.topic === "js_topic").paused
$jobs.resume("js_topic")
$jobs.schedule("nightly", "0 3 * * *", "js_topic", {all: true})
const schedule = $jobs.schedules()[0]
$jobs.unschedule("nightly")
$jobs.delete(job.id)
JSON.stringify({
	plain: Object.getPrototypeOf(job) === Object.prototype,
	run_at: job.run_at, max_retries: job.max_retries, priority: job.priority,
	unique_key: job.unique_key, payload: job.payload,
	duplicate: dup.duplicate === true && dup.id === job.id,
	listed: list.total === 1 && list.items[0].id === job.id && list.limit === 5,
	pending: stats.pending,
	cancelled: cancelled.status, requeued: requeued.status, paused,
	schedule: [schedule.name, schedule.cron, schedule.topic, schedule.payload.all],
	after_delete: $jobs.stats().total,
})
`)
	want := `{"plain":true,"run_at":"2030-01-02T03:04:05Z","max_retries":0,"priority":7,"unique_key":"k",` +
		`"payload":{"user_id":"u1","tags":["a"]},"duplicate":true,"listed":true,"pending":1,` +
		`"cancelled":"cancelled","requeued":"pending","paused":true,` +
		`"schedule":["nightly","0 3 * * *","js_topic",true],"after_delete":0}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// A failed call throws an Error whose message is the Go error's text, and
// a mistyped option or argument is refused, never ignored.
func TestJobsCallsThrowReadableErrors(t *testing.T) {
	app := newHooksApp(t, nil, nil)
	vm := newJobsVM(t, app)

	cases := []struct{ call, message string }{
		{`$jobs.get("missing")`, `get job "missing": job not found`},
		{`$jobs.enqueue("t", {}, {run_at: new Date()})`, `invalid options: unknown member "run_at"`},
		{`$jobs.enqueue("t", {}, {maxRetries: 1.5})`, "invalid options: maxRetries must be an integer, not 1.5"},
		{`$jobs.enqueue("t", {}, {runAt: "tomorrow"})`, `invalid options: runAt "tomorrow" is not an RFC 3339 date-time`},
		{`$jobs.enqueue("t", {}, "fast")`, "invalid options: expected an object, not string"},
		{`$jobs.enqueue(42)`, "invalid argument: topic must be a string, not number"},
		{`$jobs.enqueue("")`, "topic must not be empty"},
		{`$jobs.list({page: 2})`, `invalid job filter: unknown member "page"`},
	}
	for _, c := range cases {
		t.Run(c.call, func(t *testing.T) {
			got := run(t, vm, `try { `+c.call+`; "no error" } catch (err) { err.message }`)
			if got != c.message {
				t.Fatalf("message %q, want %q", got, c.message)
			}
		})
	}
}

// $jobs follows $app, and withApp binds it to a transaction's app: a job
// enqueued in a transaction that rolls back never exists.
func TestJobsWithAppInTransaction(t *testing.T) {
	app := newHooksApp(t, nil, nil)
	vm := newJobsVM(t, app)

	run(t, vm, `
try {
	$app.RunInTransaction((txApp) => {
		$jobs.withApp(txApp).enqueue("tx_topic", {kept: false})
		throw new Error("roll back")
	})
} catch (err) {
	if (err.message !== "roll back") throw err
}
$app.RunInTransaction((txApp) => {
	$jobs.withApp(txApp).enqueue("tx_topic", {kept: true}, {runAt: "2030-01-02 03:04:05Z"})
})
`)
	list, err := app.store.List(&jobs.JobFilter{Topic: "tx_topic"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if list.Total != 1 || string(list.Items[0].Payload) != `{"kept":true}` ||
		!list.Items[0].RunAt.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("jobs %+v: want only the committed one", list.Items)
	}
}
