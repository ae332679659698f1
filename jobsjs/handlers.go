package jobsjs

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/dop251/goja"
	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// jobEvent is what a JavaScript job handler receives as e: e.job, e.app
// and e.next().
type jobEvent struct {
	hook.Event

	// App is the app the handler runs in (jsvm also makes it $app).
	App core.App
	// Job is the job as the HTTP API's JSON shows it (snake_case members),
	// its payload decoded: e.job.payload.user_id.
	Job map[string]any

	topic string
}

// Tags makes the event's topic the tag that onJobRun's topics match.
func (e *jobEvent) Tags() []string {
	return []string{e.topic}
}

// jobHooks holds the JavaScript job handlers of an app. Its method OnJobRun
// is what jsvm binds as onJobRun (see withJobHooks); the topics it is given
// are registered with the job store once each, however many handlers and
// runtimes there are.
type jobHooks struct {
	app  core.App
	runs *hook.Hook[*jobEvent]

	mu sync.Mutex
	// topics are the topics with a handler, in the order they were first
	// given to OnJobRun.
	topics []string
}

// newJobHooks returns the job hooks of app, with no handler.
func newJobHooks(app core.App) *jobHooks {
	return &jobHooks{app: app, runs: &hook.Hook[*jobEvent]{}}
}

// OnJobRun returns the hook of the jobs of topics: jsvm binds a pb_hooks
// file's onJobRun(handler, ...topics) by calling it and binding the handler
// to what it returns. It panics without topics (a handler for every topic
// would be registered for none), which jsvm reports as a failure of the
// file.
func (h *jobHooks) OnJobRun(topics ...string) *hook.TaggedHook[*jobEvent] {
	if len(topics) == 0 {
		panic("onJobRun needs at least one topic: onJobRun((e) => { ...; e.next() }, \"topic\")")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, topic := range topics {
		if !slices.Contains(h.topics, topic) {
			h.topics = append(h.topics, topic)
		}
	}
	return hook.NewTaggedHook(h.runs, topics...)
}

// registerTopics registers a handler with the job store for each topic
// given to OnJobRun. jsvm runs pb_hooks files once, in its loader runtime,
// while it registers, so every topic is known by then.
func (h *jobHooks) registerTopics() error {
	h.mu.Lock()
	topics := append([]string(nil), h.topics...)
	h.mu.Unlock()
	store := jobs.GetJobStore(h.app)
	for _, topic := range topics {
		if err := store.Register(topic, h.run); err != nil {
			return fmt.Errorf("jobsjs: register the onJobRun handlers of %q: %w", topic, err)
		}
	}
	return nil
}

// run is the job store's handler of every topic with JavaScript handlers:
// it runs the topic's handlers, in the order they were bound, each on a
// runtime of jsvm's pool.
func (h *jobHooks) run(job *jobs.Job) error {
	fields, err := jobFields(job)
	if err != nil {
		return err
	}
	return handlerError(h.runs.Trigger(&jobEvent{App: h.app, Job: fields, topic: job.Topic}))
}

// jobFields returns job's JSON (the HTTP API's) decoded into a map, which
// goja shows a handler as an object.
func jobFields(job *jobs.Job) (map[string]any, error) {
	data, err := json.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("jobsjs: encode job %s: %w", job.ID, err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("jobsjs: decode job %s: %w", job.ID, err)
	}
	return fields, nil
}

// handlerError returns the error a job's handlers ended with, as the job
// store should see it. jsvm turns a thrown Go error (one of e.next(), of a
// $jobs call, $jobs.snooze()...) into that error, and leaves anything else
// thrown as a *goja.Exception, whose text would hold the stack: the attempt's
// error is then the thrown value's errorText.
func handlerError(err error) error {
	var thrown *goja.Exception
	if !errors.As(err, &thrown) {
		return err
	}
	return errors.New(errorText(thrown.Value()))
}
