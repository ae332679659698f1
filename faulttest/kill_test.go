//go:build unix

package faulttest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestKillMidStream SIGKILLs a worker three times at random points of a
// stream of 5,000 jobs, restarting it after each kill. Every job ends
// completed, and a job runs again only if its claim was unfinished (its
// handler running, or its outcome not yet written) when its process was
// killed: each kill re-runs at most the claims it left unfinished.
func TestKillMidStream(t *testing.T) {
	bin := buildWorker(t)
	eachBackend(t, func(t *testing.T, b backend) {
		const (
			total   = 5000
			workers = 10
			kills   = 3
		)
		n := newNode(t, bin, b,
			fmt.Sprintf("PB_JOBS_WORKERS=%d", workers),
			"PB_JOBS_LOCK_DURATION=2s", // a killed process's jobs are free again 2 s later
			"PB_JOBS_POLL_INTERVAL=100ms",
			"FAULT_SLEEP=2ms", // long enough for kills to catch handlers running
		)
		p := n.start(fmt.Sprintf("FAULT_ENQUEUE=%d", total))
		table := openJobTable(t, b, n.dir)

		marks := randomMarks(total, kills)
		killed := make([]int, 0, kills)   // pids
		inFlight := make([]int, 0, kills) // claims each killed process left unfinished
		var left map[claim]bool           // claims unfinished after the previous kill
		for _, mark := range marks {
			waitFor(t, time.Minute, fmt.Sprintf("%d recorded runs", mark), func() (bool, error) {
				runs, err := readExecLog(n.execLog)
				return len(runs) >= mark, err
			})
			p.kill()
			killed = append(killed, p.pid())
			// Nothing writes the table until the restart: these are the
			// claims left unfinished, by this process or (locks not yet
			// expired) by the previous one.
			claims, err := table.processing()
			if err != nil {
				t.Fatal(err)
			}
			fresh := 0
			for c := range claims {
				if !left[c] {
					fresh++
				}
			}
			inFlight = append(inFlight, fresh)
			left = claims
			p = n.start()
		}
		start := time.Now()
		waitFor(t, 2*time.Minute, "every job to complete", func() (bool, error) {
			completed, err := table.count("completed")
			return completed == total, err
		})
		drain := time.Since(start)
		p.terminate()

		rows, err := table.all()
		if err != nil {
			t.Fatal(err)
		}
		runs, err := readExecLog(n.execLog)
		if err != nil {
			t.Fatal(err)
		}
		perJob := runsPerJob(runs, "work")
		checkEveryJobRan(t, rows, perJob, total)

		reruns := rerunsByProcess(runs, "work")
		for pid, count := range reruns {
			if !slices.Contains(killed, pid) {
				t.Errorf("process %d was not killed, yet %d of its runs were run again", pid, count)
			}
		}
		extra := 0
		for i, pid := range killed {
			extra += reruns[pid]
			t.Logf("%s: kill %d after %d recorded runs: %d claims unfinished (Workers %d), %d of them ran again",
				b.name, i+1, marks[i], inFlight[i], workers, reruns[pid])
			if reruns[pid] > inFlight[i] {
				t.Errorf("kill %d: %d jobs ran again, but only %d claims were unfinished", i+1, reruns[pid], inFlight[i])
			}
		}
		t.Logf("%s: %d runs for %d jobs (%d extra); the rest done %s after the last restart",
			b.name, len(runs), total, extra, drain.Round(time.Millisecond))
	})
}

// rerunsByProcess counts, per process id, the runs of jobs of topic that
// were followed by another run of the same job: the runs a process started
// but did not see through.
func rerunsByProcess(runs []execution, topic string) map[int]int {
	reruns := make(map[int]int)
	last := make(map[string]execution)
	for _, r := range runs {
		if r.topic != topic {
			continue
		}
		if prev, ok := last[r.jobID]; ok {
			reruns[prev.pid]++
		}
		last[r.jobID] = r
	}
	return reruns
}

// randomMarks returns count distinct numbers of recorded runs, ascending and
// chosen at random between a tenth and nine tenths of total, at which to
// kill or stop the worker.
func randomMarks(total, count int) []int {
	marks := make([]int, 0, count)
	for len(marks) < count {
		m := total/10 + rand.IntN(total*8/10)
		if !slices.Contains(marks, m) {
			marks = append(marks, m)
		}
	}
	slices.Sort(marks)
	return marks
}

// checkEveryJobRan checks that the table holds total jobs, all completed,
// that each ran at least once and at most once per claim, and that no run
// is of a job the table does not hold.
func checkEveryJobRan(t *testing.T, rows []jobRow, perJob map[string]int, total int) {
	t.Helper()
	if len(rows) != total {
		t.Fatalf("the table holds %d jobs, want %d", len(rows), total)
	}
	for _, row := range rows {
		count := perJob[row.ID]
		switch {
		case row.Status != "completed":
			t.Errorf("job %s is %s, want completed", row.ID, row.Status)
		case count == 0:
			t.Errorf("job %s is completed but never ran", row.ID)
		case count > row.Attempts:
			t.Errorf("job %s ran %d times in %d claims", row.ID, count, row.Attempts)
		}
	}
	if len(perJob) != total {
		t.Errorf("%d distinct jobs ran, want %d", len(perJob), total)
	}
}
