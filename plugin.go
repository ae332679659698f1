// Package jobs is a durable background-job queue for PocketBase.
//
// Jobs are rows of the _jobs table in the app's own SQLite database, so an
// enqueue can share a transaction with the app's writes. A dispatcher claims
// runnable jobs for the topics that have a handler and runs them on a bounded
// worker pool, with retries, delayed jobs and crash recovery.
//
// Example usage:
//
//	app := pocketbase.New()
//
//	jobs.MustRegister(app, jobs.DefaultConfig())
//
//	app.OnBootstrap().BindFunc(func(e *core.BootstrapEvent) error {
//		if err := e.Next(); err != nil {
//			return err
//		}
//		return jobs.GetJobStore(app).Register("mail_digest", func(job *jobs.Job) error {
//			var payload struct {
//				UserID string `json:"user_id"`
//			}
//			if err := job.UnmarshalPayload(&payload); err != nil {
//				return err
//			}
//			return sendDigest(job.Context(), payload.UserID)
//		})
//	})
//
//	// anywhere later, e.g. in a route or a record hook:
//	job, err := jobs.GetJobStore(e.App).Enqueue("mail_digest", map[string]any{"user_id": "123"})
package jobs

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/pocketbase-jobs/jobs/internal/clock"
	"github.com/pocketbase-jobs/jobs/internal/service"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// storeKey is the app store key under which the plugin keeps its state.
// Every app value PocketBase hands out (the app, a transaction app, e.App in
// hooks) shares one store, so GetJobStore finds the plugin from any of them.
const storeKey = "github.com/pocketbase-jobs/jobs"

// Ids of the plugin's hook handlers, so they can be unbound.
const (
	hookIDBootstrap = "__pbJobsBootstrap__"
	hookIDServe     = "__pbJobsServe__"
	hookIDTerminate = "__pbJobsTerminate__"
	hookIDRealtime  = "__pbJobsRealtime__"
	// hookIDConfigNotices logs the notices about the configuration.
	hookIDConfigNotices = "__pbJobsConfigNotices__"
)

// bootstrapPriority runs the plugin's bootstrap handler after every handler
// of default priority (hook handlers run in ascending priority).
const bootstrapPriority = 1 << 20

// plugin is the state of the jobs plugin of one app.
type plugin struct {
	app        core.App
	config     Config
	handlers   handlerRegistry
	schedules  scheduleRegistry
	dispatcher *dispatcher
	// clock gives every time the plugin writes to a job or compares with
	// one; tests shift it to play a process whose clock is off.
	clock clock.Clock
	// waker wakes the claim loop: at once after an enqueue, or at a
	// delayed job's run time.
	waker *service.Waker
	// feed sends job changes to realtime subscribers.
	feed *realtimeFeed

	mu sync.RWMutex
	// db is nil until the app is bootstrapped, after it terminates, and
	// while a PostgreSQL job database is unavailable.
	db *jobDB
	// unavailable is set while connector tries to open the job database.
	unavailable bool
	connector   *connector
}

// MustRegister registers the jobs plugin on app like Register, and panics
// with Register's error if there is one: recover() then gives that error, so
// errors.Is(v.(error), ErrInvalidConfig) tells a bad configuration. An app
// that wants to decide for itself what a bad PB_JOBS_* value does (print it
// and exit without a panic, or let --help still work) calls Register.
//
// Example usage:
//
//	jobs.MustRegister(app, jobs.DefaultConfig())
func MustRegister(app core.App, config Config) {
	if err := Register(app, config); err != nil {
		panic(err)
	}
}

// Register registers the jobs plugin on app. The PB_JOBS_* environment
// overrides config; a bad value is an error wrapping ErrInvalidConfig whose
// message is one line naming the variable, its value and what it should be.
// Unknown PB_JOBS_* variables (typos) are logged as warnings when the app
// bootstraps. The job table is created (or upgraded) when the app
// bootstraps, or at once if it already has; the dispatcher starts when the
// app serves if config.AutoStart, and stops when the app terminates.
//
// An app that wants to handle the error calls Register rather than
// MustRegister. To stop every command but --help (which never bootstraps the
// app) with the error's one line instead of a panic, return it from a
// bootstrap handler; app.Start then returns it:
//
//	if err := jobs.Register(app, jobs.DefaultConfig()); err != nil {
//		// every command but --help (which never bootstraps) stops with err's one line
//		app.OnBootstrap().BindFunc(func(*core.BootstrapEvent) error { return err })
//	}
func Register(app core.App, config Config) error {
	if app == nil {
		return fmt.Errorf("%w: app is nil", ErrInvalidConfig)
	}
	config, err := config.resolve()
	if err != nil {
		return err
	}
	if !config.Disabled {
		if err := validateRules(app, config); err != nil {
			return err
		}
	}
	store := &JobStore{err: ErrDisabled}
	var p *plugin
	if !config.Disabled {
		p = newPlugin(app, config)
		store = &JobStore{p: p}
	}
	if !setOnce(app, store) {
		return ErrAlreadyRegistered
	}
	logConfigNotices(app, configNotices(config, os.Environ()))
	if p == nil {
		return nil
	}

	if app.IsBootstrapped() {
		if err := p.open(app); err != nil {
			app.Store().Remove(storeKey)
			return err
		}
	}
	app.OnBootstrap().Bind(&hook.Handler[*core.BootstrapEvent]{
		Id: hookIDBootstrap,
		// Innermost: the store opens right after PocketBase's own bootstrap,
		// so other handlers can enqueue after their e.Next().
		Priority: bootstrapPriority,
		Func: func(e *core.BootstrapEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			return p.open(e.App)
		},
	})
	if p.config.HTTPEnabled {
		app.OnRealtimeSubscribeRequest().Bind(&hook.Handler[*core.RealtimeSubscribeRequestEvent]{
			Id:   hookIDRealtime,
			Func: p.authorizeSubscriptions,
		})
	}
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: hookIDServe,
		Func: func(e *core.ServeEvent) error {
			if p.config.HTTPEnabled {
				p.bindRoutes(e.Router)
				if p.config.DashboardEnabled {
					bindDashboard(e.Router)
				}
			}
			if p.config.AutoStart {
				if err := p.dispatcher.start(); err != nil {
					return err
				}
			}
			return e.Next()
		},
	})
	app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
		Id: hookIDTerminate,
		Func: func(e *core.TerminateEvent) error {
			if err := p.dispatcher.stop(); err != nil {
				e.App.Logger().Error("jobs: stopping the dispatcher failed", "error", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), closeLimit)
			defer cancel()
			if err := p.closeDB(ctx); err != nil {
				e.App.Logger().Error("jobs: closing the job database failed", "error", err)
			}
			return e.Next()
		},
	})
	return nil
}

// newPlugin returns the state of the plugin on app, its dispatcher stopped
// and its job database not open yet.
func newPlugin(app core.App, config Config) *plugin {
	p := &plugin{app: app, config: config}
	p.waker = service.NewWaker(&p.clock)
	p.feed = newRealtimeFeed(app, config.HTTPEnabled)
	p.dispatcher = &dispatcher{
		config:   config,
		clock:    &p.clock,
		waker:    p.waker,
		handlers: &p.handlers,
		periodic: p.periodic,
		wakeFor:  p.wakeFor,
		jobDB:    p.currentDB,
		logger:   app.Logger,
	}
	return p
}

// GetJobStore returns the job store of app. app may be the registered app, a
// transaction app (the store then enqueues in that transaction) or e.App in
// any hook. It never returns nil: when the plugin is disabled or not
// registered, every operation of the store returns ErrDisabled or
// ErrNotRegistered.
func GetJobStore(app core.App) *JobStore {
	if app == nil {
		return &JobStore{err: ErrNotRegistered}
	}
	s, ok := app.Store().Get(storeKey).(*JobStore)
	if !ok {
		return &JobStore{err: ErrNotRegistered}
	}
	if s.p == nil || !app.IsTransactional() {
		return s
	}
	return &JobStore{p: s.p, txApp: app}
}

// setOnce stores s as the app's job store unless one is stored already, and
// tells whether it did.
func setOnce(app core.App, s *JobStore) bool {
	stored := false
	app.Store().GetOrSet(storeKey, func() any {
		stored = true
		return s
	})
	return stored
}
