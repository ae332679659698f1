//go:build unix

package faulttest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPoisonJob enqueues a job whose handler kills its process every time,
// restarts the worker after each death like a supervisor, and keeps feeding
// ordinary jobs meanwhile. The poison job ends failed after MaxRetries+1
// claims, with a last_error saying the lock expired; ordinary jobs keep
// completing in every life of the worker, and all of them end completed.
func TestPoisonJob(t *testing.T) {
	bin := buildWorker(t)
	eachBackend(t, func(t *testing.T, b backend) {
		const maxRetries = 2
		n := newNode(t, bin, b,
			"PB_JOBS_WORKERS=4",
			"PB_JOBS_LOCK_DURATION=2s",
			"PB_JOBS_POLL_INTERVAL=100ms",
			"PB_JOBS_MAX_RETRIES=10", // ordinary jobs caught in a crash have retries to spare
			"FAULT_SLEEP=10ms",
		)
		n.createSuperuser(superuserEmail, superuserPassword)
		p := n.start()
		table := openJobTable(t, b, n.dir)

		ctx := context.Background()
		c := superuserClient(t, n, 2)
		poison, status, err := c.enqueue(ctx, map[string]any{"topic": "poison", "max_retries": maxRetries})
		if err != nil || status != http.StatusOK {
			t.Fatalf("enqueue the poison job: status %d, %v", status, err)
		}
		feed := startProducer(c, 20*time.Millisecond, map[string]any{"topic": "work"})
		defer feed.stop()

		// Supervise: restart the worker after every death, until the poison
		// job has failed for good.
		var completedAtDeath []int
		deadline := time.NewTimer(time.Minute)
		defer deadline.Stop()
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for failed := false; !failed; {
			select {
			case <-p.done:
				if !p.exitedBy(syscall.SIGKILL) {
					t.Fatalf("the worker ended with %v, want the SIGKILL of its poison job", p.err)
				}
				completed, err := table.countTopic("work", "completed")
				if err != nil {
					t.Fatal(err)
				}
				completedAtDeath = append(completedAtDeath, completed)
				p = n.start()
			case <-tick.C:
				row, err := table.get(poison)
				if err != nil {
					t.Fatal(err)
				}
				failed = row.Status == "failed"
			case <-deadline.C:
				t.Fatalf("the poison job did not fail within a minute; %d deaths so far", len(completedAtDeath))
			}
		}
		// One more life: ordinary jobs go on after the poison job is out.
		completed, err := table.countTopic("work", "completed")
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "more ordinary jobs to complete", func() (bool, error) {
			now, err := table.countTopic("work", "completed")
			return now > completed, err
		})
		feed.stop()
		waitFor(t, 30*time.Second, "every ordinary job to complete", func() (bool, error) {
			rows, err := table.all()
			if err != nil {
				return false, err
			}
			for _, row := range rows {
				if row.Topic == "work" && row.Status != "completed" {
					return false, nil
				}
			}
			return true, nil
		})
		p.terminate()

		row, err := table.get(poison)
		if err != nil {
			t.Fatal(err)
		}
		if row.Attempts != maxRetries+1 || !strings.Contains(row.LastError, "lock expired") {
			t.Errorf("poison job: %d attempts, last_error %q; want %d attempts and an expired lock",
				row.Attempts, row.LastError, maxRetries+1)
		}
		if len(completedAtDeath) != maxRetries+1 {
			t.Errorf("the worker died %d times, want %d", len(completedAtDeath), maxRetries+1)
		}
		for i := 1; i < len(completedAtDeath); i++ {
			if completedAtDeath[i] <= completedAtDeath[i-1] {
				t.Errorf("no ordinary job completed between deaths %d and %d (%v)", i, i+1, completedAtDeath)
			}
		}
		runs, err := readExecLog(n.execLog)
		if err != nil {
			t.Fatal(err)
		}
		var poisonRuns []string
		for _, r := range runs {
			if r.topic == "poison" {
				poisonRuns = append(poisonRuns, fmt.Sprintf("attempt %d in process %d", r.attempt, r.pid))
			}
		}
		if len(poisonRuns) != maxRetries+1 {
			t.Errorf("the poison job ran %d times (%v), want %d", len(poisonRuns), poisonRuns, maxRetries+1)
		}
		checkAccepted(t, table, feed.accepted)
		if len(feed.refused) > 0 {
			t.Errorf("enqueues refused: %v (by status)", feed.refused)
		}
		t.Logf("%s: poison job failed after %v; ordinary jobs completed at each death %v; %d enqueued, %d enqueues lost while the worker was down",
			b.name, poisonRuns, completedAtDeath, len(feed.accepted), feed.lost)
	})
}

// checkAccepted checks that every job the API accepted is in the table,
// completed.
func checkAccepted(t *testing.T, table *jobTable, ids []string) {
	t.Helper()
	rows, err := table.all()
	if err != nil {
		t.Fatal(err)
	}
	status := make(map[string]string, len(rows))
	for _, row := range rows {
		status[row.ID] = row.Status
	}
	for _, id := range ids {
		if status[id] != "completed" {
			t.Errorf("accepted job %s is %q, want completed", id, status[id])
		}
	}
}
