// Package jobsjs brings the jobs plugin to PocketBase's JavaScript app hooks:
// the pb_hooks files that PocketBase's jsvm plugin runs. It is a package of
// its own so that apps written in Go alone do not link a JavaScript engine.
//
// Register it in place of jsvm.Register, with the same jsvm.Config:
//
//	app := pocketbase.New()
//	jobs.MustRegister(app, jobs.DefaultConfig())
//	jobsjs.MustRegister(app, jsvm.Config{HooksWatch: true})
//
// pb_hooks files then have:
//
//   - $jobs, in every runtime: enqueue(topic, payload?, options?), get(id),
//     list(filter?), stats(), cancel(id), requeue(id), delete(id),
//     pause(topic), resume(topic), topics(), schedule(name, cron, topic,
//     payload?), unschedule(name), schedules(), snooze(ms), skipRetry(reason?)
//     and withApp(app). Results are plain objects shaped like the HTTP API's
//     JSON (snake_case members: max_retries, run_at). A failed call throws an
//     Error whose message is the Go error's text, which holds the text of the
//     jobs sentinel error ("job not found", "invalid options: ...").
//   - onJobRun(handler, ...topics): a job handler in PocketBase's hook idiom,
//     topics as tags, as onRecordCreate takes collections. e.job is the job
//     as the HTTP API's JSON shows it, its payload decoded; e.app is the app.
//
// For instance:
//
//	onJobRun((e) => {
//		console.log("digest for", e.job.payload.user_id)
//		e.next()
//	}, "mail_digest")
//
// # How handlers run
//
// jsvm keeps its pool of runtimes to itself. The one way it runs a handler on
// that pool, with every binding of a hook handler ($app, $http, $os,
// require...), is its binding of the app's hooks: it binds each On* method of
// the app it is given as a function on*(handler, ...tags) of pb_hooks files,
// and runs each call of a bound handler on a free runtime of the pool.
// Register therefore gives jsvm the app with one more hook method, OnJobRun;
// the rest is the app's own ($app is the app, with every method and, for a
// *pocketbase.PocketBase, every field, such as $app.rootCmd).
//
// jsvm runs pb_hooks files once, in a loader runtime of their own: each
// onJobRun call binds its handler once, however large the pool. When the app
// bootstraps (or at once, if it is bootstrapped already), each topic given to
// onJobRun gets one handler in the job store, which runs the topic's
// JavaScript handlers in the order they were bound: each passes the job on
// with e.next(). The store's workers call it concurrently, as Config.Workers
// and the topic's concurrency allow; jsvm gives each call a free runtime of
// the pool, or a new one when all are busy, so no handler waits for a
// runtime (jsvm.Config.HooksPoolSize is how many are kept warm).
//
// A handler fails its job's attempt by throwing: an Error's message becomes
// the job's last_error ("TypeError: ..." for errors of another name), and any
// other thrown value its text. Returning a Go error fails it too: that is how
// $jobs.snooze(ms) and $jobs.skipRetry(reason) work (return or throw them),
// and PocketBase's own errors (new BadRequestError(...)). A JavaScript Error
// that is returned rather than thrown is not an error, as in every jsvm hook.
// A handler that returns without calling e.next() completes the job without
// running the topic's later handlers.
package jobsjs

import (
	"github.com/dop251/goja"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/plugins/jsvm"
)

// MustRegister is Register, panicking when it fails.
func MustRegister(app core.App, config jsvm.Config) {
	if err := Register(app, config); err != nil {
		panic(err)
	}
}

// Register registers PocketBase's jsvm plugin on app, as jsvm.Register does
// with config, with the job bindings added: $jobs in every runtime (before
// config.OnInit runs, which may add its own bindings) and onJobRun in
// pb_hooks files, declared for editors in TypesFileName, which it writes to
// config.TypesDir when the app bootstraps. The jobs plugin must be registered on app too (before or
// after), with jobs.Register; the handlers of pb_hooks files are registered
// with its store when the app bootstraps, and an error there (such as a
// topic that Go code gave a handler already) fails the bootstrap.
func Register(app core.App, config jsvm.Config) error {
	hooks := newJobHooks(app)
	onInit := config.OnInit
	config.OnInit = func(vm *goja.Runtime) {
		bindJobs(vm, app)
		if onInit != nil {
			onInit(vm)
		}
	}
	if err := jsvm.Register(withJobHooks(app, hooks), config); err != nil {
		return err
	}
	typesDir := config.TypesDir
	if typesDir == "" {
		typesDir = app.DataDir() // jsvm's default
	}
	bootstrapped := func() error {
		if err := writeTypes(typesDir); err != nil {
			app.Logger().Warn("jobsjs: the types of $jobs could not be written", "error", err)
		}
		return hooks.registerTopics()
	}
	if app.IsBootstrapped() {
		return bootstrapped()
	}
	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		return bootstrapped()
	})
	return nil
}

// appWithJobHooks is an app with the hook method OnJobRun added.
type appWithJobHooks struct {
	core.App
	*jobHooks
}

// pocketBaseWithJobHooks is a *pocketbase.PocketBase with the hook method
// OnJobRun added: embedding it, rather than core.App, keeps its fields
// (RootCmd) for $app.
type pocketBaseWithJobHooks struct {
	*pocketbase.PocketBase
	*jobHooks
}

// withJobHooks returns app with the hook method of hooks added, for jsvm to
// bind as onJobRun.
func withJobHooks(app core.App, hooks *jobHooks) core.App {
	if pb, ok := app.(*pocketbase.PocketBase); ok {
		return &pocketBaseWithJobHooks{PocketBase: pb, jobHooks: hooks}
	}
	return &appWithJobHooks{App: app, jobHooks: hooks}
}
