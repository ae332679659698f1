package jobsjs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dop251/goja"
	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase/core"
)

// jobsObject is $jobs in one JavaScript runtime: the job store's calls,
// taking JavaScript values and answering with plain JavaScript objects
// shaped like the HTTP API's JSON. A goja runtime is used by one goroutine
// at a time, and so is its jobsObject.
type jobsObject struct {
	vm *goja.Runtime
	// app returns the app whose job store a call uses.
	app func() core.App
	// parse and stringify are the runtime's JSON.parse and JSON.stringify.
	parse, stringify goja.Callable
}

// bindJobs sets the global $jobs of vm. Its calls use the app the global
// $app is at the time of the call (jsvm makes it the hook's e.app inside a
// hook handler, a transaction's app included), or fallback where $app is not
// an app (jsvm's migrations).
func bindJobs(vm *goja.Runtime, fallback core.App) {
	// JSON.parse and JSON.stringify are built into every runtime.
	json := vm.Get("JSON").ToObject(vm)
	parse, _ := goja.AssertFunction(json.Get("parse"))
	stringify, _ := goja.AssertFunction(json.Get("stringify"))
	current := func() core.App {
		if v := vm.Get("$app"); v != nil {
			if app, ok := v.Export().(core.App); ok {
				return app
			}
		}
		return fallback
	}
	j := &jobsObject{vm: vm, app: current, parse: parse, stringify: stringify}
	// Set fails only on a frozen global object, which a new runtime has not.
	_ = vm.Set("$jobs", j.object())
}

// object returns the JavaScript object of j's calls.
func (j *jobsObject) object() *goja.Object {
	o := j.vm.NewObject()
	calls := map[string]any{
		"enqueue":    j.enqueue,
		"get":        j.get,
		"list":       j.list,
		"stats":      j.stats,
		"cancel":     j.cancel,
		"requeue":    j.requeue,
		"delete":     j.delete,
		"pause":      j.pause,
		"resume":     j.resume,
		"topics":     j.topics,
		"schedule":   j.schedule,
		"unschedule": j.unschedule,
		"schedules":  j.schedules,
		"snooze":     j.snooze,
		"skipRetry":  j.skipRetry,
		"withApp":    j.withApp,
	}
	for name, call := range calls {
		// Set fails only on a frozen object or a non-configurable
		// property: o is new.
		_ = o.Set(name, call)
	}
	return o
}

// store returns the job store of the app of the call.
func (j *jobsObject) store() *jobs.JobStore {
	return jobs.GetJobStore(j.app())
}

// enqueue is $jobs.enqueue(topic, payload?, options?).
func (j *jobsObject) enqueue(topic, payload, options goja.Value) (goja.Value, error) {
	t, err := text(topic, "topic")
	if err != nil {
		return nil, err
	}
	raw, err := j.payloadJSON(payload)
	if err != nil {
		return nil, err
	}
	opts, err := enqueueOptions(options)
	if err != nil {
		return nil, err
	}
	return j.answer(j.store().EnqueueWithOptions(t, raw, opts))
}

// get is $jobs.get(id).
func (j *jobsObject) get(id goja.Value) (goja.Value, error) {
	s, err := text(id, "id")
	if err != nil {
		return nil, err
	}
	return j.answer(j.store().Get(s))
}

// list is $jobs.list(filter?).
func (j *jobsObject) list(filter goja.Value) (goja.Value, error) {
	f, err := listFilter(filter)
	if err != nil {
		return nil, err
	}
	return j.answer(j.store().List(f))
}

// stats is $jobs.stats().
func (j *jobsObject) stats() (goja.Value, error) {
	return j.answer(j.store().Stats())
}

// cancel is $jobs.cancel(id).
func (j *jobsObject) cancel(id goja.Value) (goja.Value, error) {
	s, err := text(id, "id")
	if err != nil {
		return nil, err
	}
	return j.answer(j.store().Cancel(s))
}

// requeue is $jobs.requeue(id).
func (j *jobsObject) requeue(id goja.Value) (goja.Value, error) {
	s, err := text(id, "id")
	if err != nil {
		return nil, err
	}
	return j.answer(j.store().Requeue(s))
}

// delete is $jobs.delete(id).
func (j *jobsObject) delete(id goja.Value) error {
	s, err := text(id, "id")
	if err != nil {
		return err
	}
	return j.store().Delete(s)
}

// pause is $jobs.pause(topic).
func (j *jobsObject) pause(topic goja.Value) error {
	s, err := text(topic, "topic")
	if err != nil {
		return err
	}
	return j.store().Pause(s)
}

// resume is $jobs.resume(topic).
func (j *jobsObject) resume(topic goja.Value) error {
	s, err := text(topic, "topic")
	if err != nil {
		return err
	}
	return j.store().Resume(s)
}

// topics is $jobs.topics().
func (j *jobsObject) topics() (goja.Value, error) {
	return j.answer(j.store().Topics())
}

// schedule is $jobs.schedule(name, cron, topic, payload?).
func (j *jobsObject) schedule(name, cronExpr, topic, payload goja.Value) error {
	var texts [3]string
	for i, arg := range []struct {
		v    goja.Value
		what string
	}{{name, "name"}, {cronExpr, "cron"}, {topic, "topic"}} {
		s, err := text(arg.v, arg.what)
		if err != nil {
			return err
		}
		texts[i] = s
	}
	raw, err := j.payloadJSON(payload)
	if err != nil {
		return err
	}
	return j.store().Schedule(texts[0], texts[1], texts[2], raw)
}

// unschedule is $jobs.unschedule(name).
func (j *jobsObject) unschedule(name goja.Value) error {
	s, err := text(name, "name")
	if err != nil {
		return err
	}
	return j.store().Unschedule(s)
}

// schedules is $jobs.schedules().
func (j *jobsObject) schedules() (goja.Value, error) {
	return j.answer(j.store().Schedules())
}

// snooze is $jobs.snooze(ms): the value a handler returns (or throws) to
// run its job again ms milliseconds from now, the attempt given back. It is
// returned, not thrown, so that the handler decides when to stop.
func (j *jobsObject) snooze(ms int64) goja.Value {
	return j.vm.ToValue(jobs.Snooze(time.Duration(ms) * time.Millisecond))
}

// skipRetry is $jobs.skipRetry(reason?): the value a handler returns (or
// throws) to fail its job at once, with reason's text as last_error.
func (j *jobsObject) skipRetry(reason goja.Value) goja.Value {
	var err error
	if !isAbsent(reason) {
		err = errorOf(reason)
	}
	return j.vm.ToValue(jobs.SkipRetry(err))
}

// withApp is $jobs.withApp(app): $jobs bound to app, such as the txApp of
// $app.runInTransaction, whose enqueues then commit or roll back with it.
func (j *jobsObject) withApp(app core.App) (*goja.Object, error) {
	if app == nil {
		return nil, fmt.Errorf("jobsjs: withApp needs an app")
	}
	bound := *j
	bound.app = func() core.App { return app }
	return bound.object(), nil
}

// payloadJSON returns payload as JSON.stringify writes it: a missing or
// undefined payload (which JSON.stringify leaves out) is null.
func (j *jobsObject) payloadJSON(payload goja.Value) (json.RawMessage, error) {
	if isAbsent(payload) {
		return json.RawMessage("null"), nil
	}
	s, err := j.stringify(goja.Undefined(), payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", jobs.ErrInvalidPayload, err)
	}
	if goja.IsUndefined(s) {
		return json.RawMessage("null"), nil
	}
	return json.RawMessage(s.String()), nil
}

// answer returns v, a result of the store, as a plain JavaScript object
// parsed from its JSON, or err.
func (j *jobsObject) answer(v any, err error) (goja.Value, error) {
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("jobsjs: encode %T: %w", v, err)
	}
	return j.parse(goja.Undefined(), j.vm.ToValue(string(data)))
}

// isAbsent tells whether v stands for a value left out: a missing argument,
// undefined or null.
func isAbsent(v goja.Value) bool {
	return v == nil || goja.IsUndefined(v) || goja.IsNull(v)
}
