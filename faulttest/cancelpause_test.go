//go:build unix

package faulttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// Shape of the cancel-and-pause test.
const (
	cpWorks       = 3000 // "work" jobs: cancelled at random, never paused
	cpDigests     = 600  // "digest" jobs, spread among them: paused mid-stream
	cpLateDigests = 5    // digests enqueued over HTTP once the topic is paused
	cpKills       = 3
	cpCancelEvery = 15 * time.Millisecond
	cpKillJitter  = 10 * time.Millisecond // see killDuringCancel
)

// TestKillWhileCancellingAndPausing runs a stream of 3,000 "work" jobs with
// 600 "digest" jobs spread among them, while the test cancels work jobs
// through the worker's API (in turn one pending and one processing, picked
// at random), pauses the digest topic at a random moment, and SIGKILLs the
// worker three times at random moments, at least once before the pause and
// once after it, restarting it each time and cancelling on.
//
// Nothing is lost: the table holds every job. Every work job is completed
// or cancelled, ran at most once per claim, and ran at least once when
// completed. A cancel the API acknowledged left its job cancelled, and no
// run of it started after the acknowledgement; a cancel cut off by a kill
// either did the same or left the job to complete; a refused cancel (409)
// was of a completed job; no other job is cancelled. No digest run started
// after the pause was acknowledged, through every restart: the digests not
// completed then are pending, with those enqueued while the topic was
// paused. Once resumed, every digest completes.
func TestKillWhileCancellingAndPausing(t *testing.T) {
	bin := buildWorker(t)
	eachBackend(t, func(t *testing.T, b backend) {
		const lock = 2 * time.Second // a killed process's jobs are free again 2 s later
		n := newNode(t, bin, b,
			"PB_JOBS_WORKERS=8",
			"PB_JOBS_LOCK_DURATION="+lock.String(),
			"PB_JOBS_POLL_INTERVAL=100ms",
			"FAULT_SLEEP=5ms", // long enough for cancels to catch handlers running
		)
		n.createSuperuser(superuserEmail, superuserPassword)
		p := n.start(fmt.Sprintf("FAULT_ENQUEUE=%d", cpWorks), fmt.Sprintf("FAULT_ENQUEUE_DIGEST=%d", cpDigests))
		pids := []int{p.pid()}
		table := openJobTable(t, b, n.dir)

		c := superuserClient(t, n, 2)
		var restarts atomic.Int32
		cancels := startCanceller(c, table, "work", cpCancelEvery, &restarts)
		defer cancels.stop()

		// One moment per kill, and the pause at one of the middle ones. The
		// moments come early enough in the stream that cancels cannot keep
		// its runs from reaching them.
		marks := randomMarks(cpWorks*2/3, cpKills+1)
		pauseAt := 1 + rand.IntN(cpKills-1)
		var (
			paused time.Time
			late   []string
		)
		for i, mark := range marks {
			waitFor(t, time.Minute, fmt.Sprintf("%d recorded runs", mark), func() (bool, error) {
				runs, err := readExecLog(n.execLog)
				return len(runs) >= mark, err
			})
			if i == pauseAt {
				paused = setPaused(t, c, "digest", true)
				late = enqueueDigests(t, c, cpLateDigests)
				continue
			}
			killDuringCancel(t, p, cancels)
			p = n.start()
			pids = append(pids, p.pid())
			restarts.Add(1)
		}

		waitFor(t, 2*time.Minute, "every work job to complete or be cancelled", func() (bool, error) {
			done := 0
			for _, status := range []string{"completed", "cancelled"} {
				count, err := table.countTopic("work", status)
				if err != nil {
					return false, err
				}
				done += count
			}
			return done == cpWorks, nil
		})
		attempts, err := cancels.stop()
		if err != nil {
			t.Fatal(err)
		}
		// A digest whose run a kill cut short is pending again once its
		// lock expired.
		waitFor(t, time.Minute, "no digest left processing by a kill", func() (bool, error) {
			count, err := table.countTopic("digest", "processing")
			return count == 0, err
		})

		rows, err := table.all()
		if err != nil {
			t.Fatal(err)
		}
		runs, err := readExecLog(n.execLog)
		if err != nil {
			t.Fatal(err)
		}
		if want := cpWorks + cpDigests + len(late); len(rows) != want {
			t.Fatalf("the table holds %d jobs, want %d", len(rows), want)
		}
		h := newHistory(rows, runs)
		h.checkKnown(t)
		h.checkRuns(t, "work", "completed", "cancelled")
		cancelled := h.checkCancels(t, attempts)
		waiting := h.checkPaused(t, "digest", paused, lock, late)

		resumed := time.Now()
		setPaused(t, c, "digest", false)
		waitFor(t, 30*time.Second, "every digest to complete after the resume", func() (bool, error) {
			count, err := table.countTopic("digest", "completed")
			return count == cpDigests+len(late), err
		})
		drain := time.Since(resumed)
		p.terminate()
		if rows, err = table.all(); err != nil {
			t.Fatal(err)
		}
		if runs, err = readExecLog(n.execLog); err != nil {
			t.Fatal(err)
		}
		checkEveryJobRan(t, rowsOf(rows, "digest"), runsPerJob(runs, "digest"), cpDigests+len(late))

		t.Logf("%s: %d kills (pause after kill %d); runs per process (pid: runs) %q", b.name, cpKills, pauseAt, h.runsPerProcess(pids))
		t.Logf("%s: %s", b.name, cancelled)
		t.Logf("%s: digest paused after %d recorded runs: %d digests completed, %d waited (%d enqueued while paused), all done %s after the resume",
			b.name, marks[pauseAt], cpDigests-waiting+len(late), waiting, len(late), drain.Round(time.Millisecond))
	})
}

// killDuringCancel SIGKILLs the worker p while a cancel request of cn is
// on its way: once it has been written, after a random delay of up to
// cpKillJitter, so that the kill lands anywhere in the worker's handling of
// the request (most often before it wrote the cancel, which takes a few
// milliseconds), or just after it answered.
func killDuringCancel(t *testing.T, p *process, cn *canceller) {
	t.Helper()
	await(t, cn.nextWritten(), 10*time.Second, "a cancel request on its way")
	// Not a wait for anything: the moment of the kill, at random.
	time.Sleep(rand.N(cpKillJitter))
	p.kill()
}

// setPaused pauses or resumes topic through the API, and returns when the
// worker acknowledged it.
func setPaused(t *testing.T, c *client, topic string, pause bool) time.Time {
	t.Helper()
	verb := "resume"
	if pause {
		verb = "pause"
	}
	var info struct {
		Paused bool `json:"paused"`
	}
	status, err := c.do(context.Background(), http.MethodPost, fmt.Sprintf("/api/jobs/topics/%s/%s", topic, verb), nil, &info)
	acknowledged := time.Now()
	if err != nil || status != http.StatusOK || info.Paused != pause {
		t.Fatalf("%s %q: status %d, paused %t, %v", verb, topic, status, info.Paused, err)
	}
	return acknowledged
}

// enqueueDigests enqueues count digest jobs through the API and returns
// their ids.
func enqueueDigests(t *testing.T, c *client, count int) []string {
	t.Helper()
	ids := make([]string, count)
	for i := range ids {
		id, status, err := c.enqueue(context.Background(), map[string]any{"topic": "digest", "payload": i})
		if err != nil || status != http.StatusOK {
			t.Fatalf("enqueue digest %d: status %d, %v", i, status, err)
		}
		ids[i] = id
	}
	return ids
}
