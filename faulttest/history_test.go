package faulttest

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// history is what became of each job: its row in the table, read once the
// jobs settled, and the runs the execution log holds of it.
type history struct {
	rows map[string]jobRow
	// runs holds each job's handler runs, in the order they were recorded.
	runs map[string][]execution
	// sawCancel holds the runs whose context ended because their job was
	// cancelled.
	sawCancel map[runKey]bool
	// orphans are runs of jobs the table does not hold.
	orphans []execution
	// perProcess counts the handler runs of each process.
	perProcess map[int]int
}

// newHistory joins the rows of the table with the runs of the log.
func newHistory(rows []jobRow, log []execution) *history {
	h := &history{
		rows:       make(map[string]jobRow, len(rows)),
		runs:       make(map[string][]execution),
		sawCancel:  make(map[runKey]bool),
		perProcess: make(map[int]int),
	}
	for _, row := range rows {
		h.rows[row.ID] = row
	}
	for _, r := range log {
		switch row, ok := h.rows[r.jobID]; {
		case r.topic == "cancelled":
			h.sawCancel[keyOf(r)] = true
		case !ok || row.Topic != r.topic:
			h.orphans = append(h.orphans, r)
		default:
			h.runs[r.jobID] = append(h.runs[r.jobID], r)
			h.perProcess[r.pid]++
		}
	}
	return h
}

// runKey names one run of a job.
type runKey struct {
	jobID   string
	attempt int
	pid     int
}

// keyOf returns the key of the run r.
func keyOf(r execution) runKey { return runKey{jobID: r.jobID, attempt: r.attempt, pid: r.pid} }

// rowsOf returns the rows of topic.
func rowsOf(rows []jobRow, topic string) []jobRow {
	var of []jobRow
	for _, row := range rows {
		if row.Topic == topic {
			of = append(of, row)
		}
	}
	return of
}

// checkKnown checks that every run is of a job the table holds.
func (h *history) checkKnown(t *testing.T) {
	t.Helper()
	for _, r := range h.orphans {
		t.Errorf("process %d ran %s job %s (attempt %d), which the table does not hold", r.pid, r.topic, r.jobID, r.attempt)
	}
}

// checkRuns checks that the jobs of topic are in one of the given statuses,
// ran at most once per claim, and ran at least once when completed.
func (h *history) checkRuns(t *testing.T, topic string, statuses ...string) {
	t.Helper()
	for id, row := range h.rows {
		if row.Topic != topic {
			continue
		}
		runs := len(h.runs[id])
		switch {
		case !slices.Contains(statuses, row.Status):
			t.Errorf("%s job %s is %s, want one of %v", topic, id, row.Status, statuses)
		case row.Status == "completed" && runs == 0:
			t.Errorf("%s job %s is completed but never ran", topic, id)
		case runs > row.Attempts:
			t.Errorf("%s job %s ran %d times in %d claims", topic, id, runs, row.Attempts)
		}
	}
}

// checkCancels checks what each cancel did: an acknowledged cancel left its
// job cancelled, and no run of it started after the acknowledgement; a
// cancel cut off by a kill left its job cancelled on the same terms, or
// completed; a refused one (409) was of a completed job. No other job is
// cancelled, and a run saw its context end by a cancel only if its job is
// cancelled. It returns the figures of the cancels.
func (h *history) checkCancels(t *testing.T, attempts []cancelAttempt) string {
	t.Helper()
	var (
		took         = make(map[string]bool) // jobs whose cancel took effect
		acknowledged int
		refused      int
		inDoubt      int
		doubtTook    int
		afterRestart int
		picked       = make(map[string]int)
	)
	for _, a := range attempts {
		row, ok := h.rows[a.id]
		if !ok {
			t.Errorf("cancelled job %s is not in the table", a.id)
			continue
		}
		picked[a.picked]++
		if a.restarts > 0 {
			afterRestart++
		}
		switch {
		case a.inDoubt():
			inDoubt++
			if row.Status == "cancelled" {
				doubtTook++
				took[a.id] = true
				h.checkNoRunAfter(t, a)
			} else if row.Status != "completed" {
				t.Errorf("job %s, whose cancel a kill cut off (%v), is %s, want cancelled or completed", a.id, a.err, row.Status)
			}
		case a.status == 200:
			acknowledged++
			took[a.id] = true
			if row.Status != "cancelled" {
				t.Errorf("job %s is %s after its cancel was acknowledged, want cancelled", a.id, row.Status)
			}
			h.checkNoRunAfter(t, a)
		case a.status == 409:
			refused++
			if row.Status != "completed" {
				t.Errorf("the cancel of job %s was refused (409), yet the job is %s, want completed", a.id, row.Status)
			}
		default:
			t.Errorf("the cancel of job %s (picked %s) was answered %d", a.id, a.picked, a.status)
		}
	}
	ranBefore, sawCancel := 0, 0
	for id, row := range h.rows {
		if row.Status == "cancelled" && !took[id] {
			t.Errorf("job %s is cancelled, but no cancel of it took effect", id)
		}
		if took[id] && len(h.runs[id]) > 0 {
			ranBefore++
		}
		for _, r := range h.runs[id] {
			if !h.sawCancel[keyOf(r)] {
				continue
			}
			sawCancel++
			if !took[id] {
				t.Errorf("a run of job %s saw its context end by a cancel, but no cancel of it took effect", id)
			}
		}
	}
	return fmt.Sprintf("%d cancels sent (picked %d pending, %d processing; %d after a restart): %d acknowledged, "+
		"%d refused (job completed), %d cut off by a kill (%d took effect); %d cancelled jobs had started a run, "+
		"%d of their runs saw their context end by the cancel",
		len(attempts), picked["pending"], picked["processing"], afterRestart, acknowledged,
		refused, inDoubt, doubtTook, ranBefore, sawCancel)
}

// checkNoRunAfter fails t if a run of the job of a started after a was
// answered, unless the run's context had ended by the cancel when it
// started: the worker took the job to run before the cancel reached it,
// and the handler's first line was only reached later (a preempted
// goroutine can take milliseconds to get there). Such a run is told at
// once that its job is cancelled, and its outcome is discarded.
func (h *history) checkNoRunAfter(t *testing.T, a cancelAttempt) {
	t.Helper()
	for _, r := range h.runs[a.id] {
		if r.started.After(a.answered) && !h.sawCancel[keyOf(r)] {
			t.Errorf("job %s (picked %s) started attempt %d in process %d %s after its cancel was answered (status %d, %v), "+
				"and its context had not ended by the cancel",
				a.id, a.picked, r.attempt, r.pid, r.started.Sub(a.answered), a.status, a.err)
		}
	}
}

// checkPaused checks that no job of topic was claimed after paused, when
// its pause was acknowledged (a run claimed just before it may start its
// handler just after: the claim's time is its lock expiry less lock, the
// topic's lock duration); that the jobs of late, enqueued while it was
// paused, never ran; and that the jobs of topic that did not complete are
// pending. It returns how many are pending.
func (h *history) checkPaused(t *testing.T, topic string, paused time.Time, lock time.Duration, late []string) int {
	t.Helper()
	h.checkRuns(t, topic, "completed", "pending")
	pending := 0
	for id, row := range h.rows {
		if row.Topic != topic {
			continue
		}
		if row.Status == "pending" {
			pending++
		}
		for _, r := range h.runs[id] {
			if claimed := r.lockedUntil.Add(-lock); r.started.After(paused) && claimed.After(paused) {
				t.Errorf("%s job %s was claimed for attempt %d in process %d %s after the topic's pause was acknowledged",
					topic, id, r.attempt, r.pid, claimed.Sub(paused))
			}
		}
	}
	for _, id := range late {
		if row := h.rows[id]; row.Status != "pending" || row.Attempts != 0 {
			t.Errorf("%s job %s, enqueued while the topic was paused, is %s after %d claims, want pending after 0",
				topic, id, row.Status, row.Attempts)
		}
	}
	if pending == len(late) {
		t.Errorf("no %s job of the stream was left pending by the pause: the pause came too late to prove anything", topic)
	}
	return pending
}

// runsPerProcess returns the number of handler runs of each process of
// pids, in that order, as "pid: runs".
func (h *history) runsPerProcess(pids []int) []string {
	counts := make([]string, len(pids))
	for i, pid := range pids {
		counts[i] = fmt.Sprintf("%d: %d", pid, h.perProcess[pid])
	}
	return counts
}
