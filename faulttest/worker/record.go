package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs"
)

// kindCancelled is the first field of the line that records a run's context
// ending because its job was cancelled.
const kindCancelled = "cancelled"

// recorder appends one line per handler run to the execution log, opened on
// the first run and left open for the life of the process:
//
//	TOPIC JOB_ID ATTEMPT PID UNIX_NANO LOCKED_UNTIL
//
// UNIX_NANO is the wall-clock time the line was written, in nanoseconds
// since the Unix epoch: for a run, when its handler started. LOCKED_UNTIL is
// the run's lock expiry, likewise (its claim's time plus the lock's
// duration). Two more kinds of line share the format, with LOCKED_UNTIL 0:
// "tx ORDER_ID 0 PID UNIX_NANO 0" when an order's transaction is held open,
// and "cancelled JOB_ID ATTEMPT PID UNIX_NANO 0" when a run's context ended
// because its job was cancelled.
//
// Each line is a single O_APPEND write of less than PIPE_BUF bytes followed
// by fsync, so lines of concurrent runs and of successive processes never
// interleave, and a recorded run survives a kill of the process. The first
// four fields name a run uniquely (a job is claimed at most once per
// attempt number by one process), so readers may drop runs recorded twice.
type recorder struct {
	path string

	once sync.Once
	file *os.File
	err  error
}

// record appends the run of job to the log.
func (r *recorder) record(job *jobs.Job) error {
	return r.append(job.Topic, job.ID, job.Attempts, job.LockedUntil.UnixNano())
}

// append appends one line to the log and syncs it to disk.
func (r *recorder) append(kind, id string, attempt int, lockedUntil int64) error {
	r.once.Do(r.open)
	if r.err != nil {
		return r.err
	}
	line := fmt.Sprintf("%s %s %d %d %d %d\n", kind, id, attempt, os.Getpid(), time.Now().UnixNano(), lockedUntil)
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
