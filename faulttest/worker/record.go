package main

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/pocketbase-jobs/jobs"
)

// recorder appends one line per handler run to the execution log, opened on
// the first run and left open for the life of the process:
//
//	TOPIC JOB_ID ATTEMPT PID
//
// (and "tx ORDER_ID 0 PID" when an order's transaction is held open).
// Each line is a single O_APPEND write of less than PIPE_BUF bytes followed
// by fsync, so lines of concurrent runs and of successive processes never
// interleave, and a recorded run survives a kill of the process. A line
// names its run uniquely (a job is claimed at most once per attempt number
// by one process), so readers may drop repeated lines.
type recorder struct {
	path string

	once sync.Once
	file *os.File
	err  error
}

// record appends the run of job to the log.
func (r *recorder) record(job *jobs.Job) error {
	return r.append(job.Topic, job.ID, job.Attempts)
}

// append appends one line to the log and syncs it to disk.
func (r *recorder) append(kind, id string, attempt int) error {
	r.once.Do(r.open)
	if r.err != nil {
		return r.err
	}
	line := fmt.Sprintf("%s %s %d %d\n", kind, id, attempt, os.Getpid())
	if _, err := r.file.WriteString(line); err != nil {
		return fmt.Errorf("append to the execution log: %w", err)
	}
	if err := r.file.Sync(); err != nil {
		return fmt.Errorf("sync the execution log: %w", err)
	}
	return nil
}

// open opens the log for appending, creating it when needed.
func (r *recorder) open() {
	if r.path == "" {
		r.err = errors.New(envExecLog + " is not set: the worker cannot record job runs")
		return
	}
	r.file, r.err = os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if r.err != nil {
		r.err = fmt.Errorf("open the execution log: %w", r.err)
	}
}
