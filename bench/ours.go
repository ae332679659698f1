package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase/core"
	// PocketBase's system migrations, which Bootstrap runs, as in
	// pocketbase.New.
	_ "github.com/pocketbase/pocketbase/migrations"
)

// oursQueue is pocketbase-jobs with jobs.DefaultConfig() (HTTP off) on a
// bootstrapped PocketBase app: the jobs live in the app's SQLite, or in the
// PostgreSQL database of the target.
type oursQueue struct {
	app     *core.BaseApp
	store   *jobs.JobStore
	dsn     string
	handler handlerFunc
	started bool
}

// openOurs bootstraps a PocketBase app in t.dir and registers the plugin.
// On PostgreSQL a Register error means this build has no PostgreSQL job
// store yet: the system is reported as unavailable.
func openOurs(ctx context.Context, t target) (queue, error) {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.dir})
	if err := app.Bootstrap(); err != nil {
		return nil, fmt.Errorf("bootstrap PocketBase: %w", err)
	}
	cfg := jobs.DefaultConfig()
	cfg.HTTPEnabled = false
	cfg.PostgresDSN = t.dsn
	if err := jobs.Register(app, cfg); err != nil {
		app.ResetBootstrapState()
		err = fmt.Errorf("register pocketbase-jobs: %w", err)
		if t.dsn != "" {
			return nil, unavailableError{err}
		}
		return nil, err
	}
	q := &oursQueue{app: app, store: jobs.GetJobStore(app), dsn: t.dsn}
	err := q.store.Register(topic, func(*jobs.Job) error {
		q.handler.call()
		return nil
	})
	if err != nil {
		q.close()
		return nil, fmt.Errorf("register the handler: %w", err)
	}
	return q, nil
}

func (q *oursQueue) enqueue(ctx context.Context) error {
	_, err := q.store.Enqueue(topic, noopArgs{N: 1})
	return err
}

func (q *oursQueue) enqueueBatch(ctx context.Context, n int) error {
	return q.enqueueMany(topic, n)
}

// foreignTopic is the topic of (e)'s foreign backlog: no handler takes it.
const foreignTopic = "elsewhere"

func (q *oursQueue) enqueueForeignBatch(ctx context.Context, n int) error {
	return q.enqueueMany(foreignTopic, n)
}

// enqueueMany adds n no-op jobs of topic t with one EnqueueMany.
func (q *oursQueue) enqueueMany(t string, n int) error {
	items := make([]jobs.JobEnqueueItem, n)
	for i := range items {
		items[i] = jobs.JobEnqueueItem{Topic: t, Payload: noopArgs{N: 1}}
	}
	_, err := q.store.EnqueueMany(items)
	return err
}

func (q *oursQueue) start(ctx context.Context, run func()) error {
	q.handler.set(run)
	if err := q.store.Start(); err != nil {
		return fmt.Errorf("start the dispatcher: %w", err)
	}
	q.started = true
	return nil
}

func (q *oursQueue) stop(ctx context.Context) error {
	q.started = false
	return q.store.Stop()
}

// completeAll updates the documented _jobs table directly.
func (q *oursQueue) completeAll(ctx context.Context) error {
	const update = `UPDATE _jobs SET status = 'completed', attempts = 1`
	if q.dsn != "" {
		return execPostgres(ctx, q.dsn, update, `VACUUM ANALYZE _jobs`)
	}
	_, err := q.app.NonconcurrentDB().NewQuery(update).WithContext(ctx).Execute()
	return err
}

// close stops the dispatcher and shuts the app down as PocketBase does on
// exit: the terminate hook (which closes the job store), then the databases.
func (q *oursQueue) close() error {
	var errs []error
	if q.started {
		errs = append(errs, q.stop(context.Background()))
	}
	errs = append(errs, q.app.OnTerminate().Trigger(&core.TerminateEvent{App: q.app}, func(e *core.TerminateEvent) error {
		return e.App.ResetBootstrapState()
	}))
	return errors.Join(errs...)
}
