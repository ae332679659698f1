package faulttest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// execution is one handler run, as the worker records it (or one of the
// other lines of its log: "tx", "cancelled").
type execution struct {
	topic   string
	jobID   string
	attempt int
	pid     int
	// started is when the line was written: when the handler started.
	started time.Time
	// lockedUntil is the run's lock expiry: its claim's time plus the lock's
	// duration (zero for lines that are not runs).
	lockedUntil time.Time
}

// identity is the run without its times: a run recorded twice has one
// identity.
func (e execution) identity() execution {
	e.started, e.lockedUntil = time.Time{}, time.Time{}
	return e
}

// readExecLog returns the runs recorded in the worker's execution log at
// path, in order. A run recorded twice counts once, and a last line not yet
// complete is left for the next read. A log that does not exist yet holds
// no runs.
func readExecLog(path string) ([]execution, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the execution log: %w", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		data = nil
	}
	seen := make(map[execution]bool)
	var runs []execution
	for n, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		run, err := parseExecution(line)
		if err != nil {
			return nil, fmt.Errorf("execution log line %d: %w", n+1, err)
		}
		if !seen[run.identity()] {
			seen[run.identity()] = true
			runs = append(runs, run)
		}
	}
	return runs, nil
}

// parseExecution parses "TOPIC JOB_ID ATTEMPT PID UNIX_NANO LOCKED_UNTIL".
func parseExecution(line string) (execution, error) {
	fields := strings.Fields(line)
	if len(fields) != 6 {
		return execution{}, fmt.Errorf("%q has %d fields, want 6", line, len(fields))
	}
	attempt, err := strconv.Atoi(fields[2])
	if err != nil {
		return execution{}, fmt.Errorf("attempt of %q: %w", line, err)
	}
	pid, err := strconv.Atoi(fields[3])
	if err != nil {
		return execution{}, fmt.Errorf("pid of %q: %w", line, err)
	}
	nanos, err := strconv.ParseInt(fields[4], 10, 64)
	if err != nil {
		return execution{}, fmt.Errorf("time of %q: %w", line, err)
	}
	locked, err := strconv.ParseInt(fields[5], 10, 64)
	if err != nil {
		return execution{}, fmt.Errorf("lock expiry of %q: %w", line, err)
	}
	run := execution{topic: fields[0], jobID: fields[1], attempt: attempt, pid: pid, started: time.Unix(0, nanos)}
	if locked != 0 {
		run.lockedUntil = time.Unix(0, locked)
	}
	return run, nil
}

// runsPerJob counts the runs of each job of topic.
func runsPerJob(runs []execution, topic string) map[string]int {
	counts := make(map[string]int)
	for _, r := range runs {
		if r.topic == topic {
			counts[r.jobID]++
		}
	}
	return counts
}
