package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The host-app server talks to the parent in lines: it prints hostReady and
// its address once it serves, stops serving when stdin ends, and then prints
// one hostJobs line (jobs enqueued and completed when stdin ended) and one
// hostBusy line (log entries that mention a busy database).
const (
	hostReady = "ready"
	hostJobs  = "jobs"
	hostBusy  = "busy"
)

// postTopic is the topic of the job each created post enqueues.
const postTopic = "post_created"

// postArgs is the payload of a post_created job.
type postArgs struct {
	ID string `json:"id"`
}

// hostServer is the server side of the host-app measurement: a PocketBase
// app in dir, served on 127.0.0.1 on a free port, with a public posts
// collection whose creates enqueue one job each, as configuration cfg has
// it. With a profile file, it profiles its CPU from ready to the end of
// the load.
func hostServer(ctx context.Context, dir string, cfg hostConfig, profile string) error {
	// The plugin reads its switches from the environment, as a deployment
	// would set them (main cleared every PB_JOBS_* variable before).
	for name, value := range cfg.env() {
		os.Setenv(name, value)
	}
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir})
	if err := app.Bootstrap(); err != nil {
		return fmt.Errorf("bootstrap PocketBase: %w", err)
	}
	defer app.ResetBootstrapState()
	if err := jobs.Register(app, jobs.DefaultConfig()); err != nil {
		return fmt.Errorf("register pocketbase-jobs: %w", err)
	}
	if err := createPosts(app); err != nil {
		return err
	}
	if err := bindPostHooks(app, cfg); err != nil {
		return err
	}

	var server *http.Server
	ready := make(chan struct{})
	app.OnServe().BindFunc(func(e *core.ServeEvent) error {
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		e.Listener, e.InstallerFunc, server = listener, nil, e.Server
		if err := e.Next(); err != nil {
			listener.Close()
			return err
		}
		fmt.Println(hostReady, listener.Addr())
		close(ready)
		return nil
	})
	served := make(chan error, 1)
	go func() { served <- apis.Serve(app, apis.ServeConfig{}) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ready:
	}
	stopProfile, err := startCPUProfile(profile)
	if err != nil {
		return err
	}

	// Serve until the parent closes stdin, or a signal ends this process.
	lines := stdinLines()
	waitForEnd(ctx, lines)
	if err := stopProfile(); err != nil {
		return err
	}

	// The job counts of the moment the load ended, before the dispatcher
	// stops; a disabled plugin has none.
	var st jobs.JobStats
	if s, err := jobs.GetJobStore(app).Stats(); err == nil {
		st = *s
	} else if !errors.Is(err, jobs.ErrDisabled) {
		return fmt.Errorf("count the jobs: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	serveErr := errors.Join(server.Shutdown(shutdownCtx), <-served)
	// The terminate hook stops the dispatcher and flushes the logs.
	termErr := app.OnTerminate().Trigger(&core.TerminateEvent{App: app})
	var busy int
	err = app.AuxDB().NewQuery(`SELECT count(*) FROM _logs
		WHERE message LIKE '%database is locked%' OR message LIKE '%SQLITE_BUSY%'
		   OR data LIKE '%database is locked%' OR data LIKE '%SQLITE_BUSY%'`).Row(&busy)
	fmt.Println(hostJobs, st.Total, st.Completed)
	fmt.Println(hostBusy, busy)
	return errors.Join(serveErr, termErr, err)
}

// createPosts creates the posts collection: a text title and a done flag,
// which anyone may list and create.
func createPosts(app core.App) error {
	posts := core.NewBaseCollection("posts")
	posts.ListRule = types.Pointer("")
	posts.ViewRule = types.Pointer("")
	posts.CreateRule = types.Pointer("")
	posts.Fields.Add(&core.TextField{Name: "title"}, &core.BoolField{Name: "done"})
	if err := app.Save(posts); err != nil {
		return fmt.Errorf("create the posts collection: %w", err)
	}
	return nil
}

// bindPostHooks binds the hook that enqueues a job per created post — after
// the record's transaction, or inside it when cfg.inTx — and registers the
// job handler.
func bindPostHooks(app core.App, cfg hostConfig) error {
	if cfg.inTx {
		// The README's pattern: the execute hook opens a transaction for the
		// insert and the enqueue, so the job commits with the record, in the
		// same writer turn (an API create has no transaction of its own).
		app.OnRecordCreateExecute("posts").BindFunc(func(e *core.RecordEvent) error {
			return e.App.RunInTransaction(func(txApp core.App) error {
				e.App = txApp
				if err := e.Next(); err != nil {
					return err
				}
				return enqueuePost(txApp, e.Record)
			})
		})
	} else {
		app.OnRecordAfterCreateSuccess("posts").BindFunc(func(e *core.RecordEvent) error {
			if err := enqueuePost(e.App, e.Record); err != nil {
				return err
			}
			return e.Next()
		})
	}
	err := jobs.GetJobStore(app).Register(postTopic, func(j *jobs.Job) error {
		if !cfg.writeBack {
			return nil
		}
		var args postArgs
		if err := j.UnmarshalPayload(&args); err != nil {
			return err
		}
		post, err := app.FindRecordById("posts", args.ID)
		if err != nil {
			return err
		}
		post.Set("done", true)
		return app.Save(post)
	})
	if err != nil && !errors.Is(err, jobs.ErrDisabled) {
		return fmt.Errorf("register the handler: %w", err)
	}
	return nil
}

// enqueuePost enqueues the post_created job of post. A disabled plugin is
// no error: the app runs on without its jobs, as an app would.
func enqueuePost(app core.App, post *core.Record) error {
	_, err := jobs.GetJobStore(app).Enqueue(postTopic, postArgs{ID: post.Id})
	if err != nil && !errors.Is(err, jobs.ErrDisabled) {
		return fmt.Errorf("enqueue %s: %w", postTopic, err)
	}
	return nil
}
