package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase/core"
)

// The scale-out workers talk to the parent in lines: a worker prints
// workerReady once its app is up and its job database open, starts working
// when it reads workerGo on stdin, stops when stdin ends, and then prints one
// workerRun line per handler call: the job id, and when the handler started
// and returned, in Unix nanoseconds of the wall clock (all workers run on the
// parent's machine, so their clocks are one).
const (
	workerReady = "ready"
	workerGo    = "go"
	workerRun   = "run"
)

// runRecord is one handler call of a scale-out worker.
type runRecord struct {
	id         string
	start, end int64
}

// runRecorder collects the handler calls of a worker process.
type runRecorder struct {
	mu   sync.Mutex
	runs []runRecord
}

func (r *runRecorder) add(rec runRecord) {
	r.mu.Lock()
	r.runs = append(r.runs, rec)
	r.mu.Unlock()
}

// scaleWorker is the worker side of the scale-out measurement: a PocketBase
// app in dir with the plugin on the PostgreSQL database of dsn, Workers 10,
// and a no-op handler that records each call.
func scaleWorker(ctx context.Context, dir, dsn string) error {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir})
	if err := app.Bootstrap(); err != nil {
		return fmt.Errorf("bootstrap PocketBase: %w", err)
	}
	defer app.OnTerminate().Trigger(&core.TerminateEvent{App: app}, func(e *core.TerminateEvent) error {
		return e.App.ResetBootstrapState()
	})
	cfg := jobs.DefaultConfig()
	cfg.HTTPEnabled, cfg.AutoStart = false, false
	cfg.PostgresDSN = dsn
	cfg.Workers = workers
	if err := jobs.Register(app, cfg); err != nil {
		return fmt.Errorf("register pocketbase-jobs: %w", err)
	}
	store := jobs.GetJobStore(app)
	var rec runRecorder
	err := store.Register(topic, func(j *jobs.Job) error {
		start := time.Now().UnixNano()
		rec.add(runRecord{id: j.ID, start: start, end: time.Now().UnixNano()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("register the handler: %w", err)
	}
	// A first call opens the job database, so that "ready" means ready.
	if _, err := store.Stats(); err != nil {
		return fmt.Errorf("open the job database: %w", err)
	}
	fmt.Println(workerReady)

	lines := stdinLines()
	if line, ok := <-lines; !ok || line != workerGo {
		return fmt.Errorf("expected %q on stdin, got %q", workerGo, line)
	}
	if err := store.Start(); err != nil {
		return fmt.Errorf("start the dispatcher: %w", err)
	}
	// Work until the parent closes stdin, or a signal ends this process.
	waitForEnd(ctx, lines)
	if err := store.Stop(); err != nil {
		return fmt.Errorf("stop the dispatcher: %w", err)
	}
	out := bufio.NewWriter(os.Stdout)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, r := range rec.runs {
		fmt.Fprintf(out, "%s %s %d %d\n", workerRun, r.id, r.start, r.end)
	}
	return out.Flush()
}

// workerProcess is a scale-out worker as the parent sees it.
type workerProcess struct {
	*child
}

// startWorker runs this program again as a scale-out worker on dsn, its
// PocketBase app in dir, and waits until it is ready.
func startWorker(ctx context.Context, dir, dsn string) (*workerProcess, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the worker's directory: %w", err)
	}
	c, err := startChild(ctx, "a worker", "-scaleout-worker", dir, "-scaleout-dsn", dsn)
	if err != nil {
		return nil, err
	}
	w := &workerProcess{child: c}
	if !w.stdout.Scan() || w.stdout.Text() != workerReady {
		w.kill()
		return nil, fmt.Errorf("a worker did not get ready: %q", w.stdout.Text())
	}
	return w, nil
}

// begin tells the worker to start working.
func (w *workerProcess) begin() error {
	_, err := io.WriteString(w.stdin, workerGo+"\n")
	return err
}

// finish stops the worker and returns the handler calls it recorded.
func (w *workerProcess) finish() ([]runRecord, error) {
	if err := w.stdin.Close(); err != nil {
		return nil, err
	}
	var runs []runRecord
	var parseErr error
	for w.stdout.Scan() {
		f := strings.Fields(w.stdout.Text())
		if len(f) != 4 || f[0] != workerRun {
			parseErr = errors.Join(parseErr, fmt.Errorf("unexpected worker output %q", w.stdout.Text()))
			continue
		}
		start, err1 := strconv.ParseInt(f[2], 10, 64)
		end, err2 := strconv.ParseInt(f[3], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			parseErr = errors.Join(parseErr, err)
			continue
		}
		runs = append(runs, runRecord{id: f[1], start: start, end: end})
	}
	if err := w.cmd.Wait(); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	return runs, errors.Join(parseErr, w.stdout.Err())
}
