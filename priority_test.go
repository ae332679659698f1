package jobs

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// orderRecorder starts a store with one worker, whose handler of topic "t"
// records what key says of each job it runs; ran returns the records, in
// the order the jobs ran.
func orderRecorder(t *testing.T, b backend, key func(*Job) string) (store *JobStore, ran func() []string) {
	t.Helper()
	cfg := testConfig()
	cfg.Workers = 1
	var (
		mu      sync.Mutex
		records []string
	)
	store = startedStore(t, b, cfg, map[string]func(*Job) error{
		"t": func(job *Job) error {
			mu.Lock()
			defer mu.Unlock()
			records = append(records, key(job))
			return nil
		},
	})
	return store, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(records)
	}
}

// TestPriorityOrdersClaims: with one worker, jobs made runnable at once run
// by priority, highest first, then oldest run_at first.
func TestPriorityOrdersClaims(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store, ran := orderRecorder(t, b, func(job *Job) string { return job.ID })
		// Paused, so that the jobs wait to be claimed together.
		if err := store.Pause("t"); err != nil {
			t.Fatal(err)
		}
		base := time.Now().Add(-time.Minute)
		enqueue := func(priority int, age time.Duration) *Job {
			return mustEnqueue(t, store, "t", nil, &JobEnqueueOptions{Priority: priority, RunAt: base.Add(-age)})
		}
		low := enqueue(-5, 3*time.Second)
		normalNew := enqueue(0, 0)
		urgent := enqueue(MaxPriority, 0)
		normalOld := enqueue(0, time.Second)
		high := enqueue(10, 2*time.Second)
		want := []string{urgent.ID, high.ID, normalOld.ID, normalNew.ID, low.ID}
		if err := store.Resume("t"); err != nil {
			t.Fatal(err)
		}
		for _, id := range want {
			waitStatus(t, store, id, StatusCompleted)
		}
		if got := ran(); !slices.Equal(got, want) {
			t.Fatalf("ran %v, want %v (by priority, then run_at)", got, want)
		}
		if got, err := store.Get(high.ID); err != nil || got.Priority != 10 {
			t.Fatalf("Get of the job enqueued with priority 10: %+v, %v", got, err)
		}
	})
}

func TestPriorityAndUniqueKeyBounds(t *testing.T) {
	store := GetJobStore(newApp(t, backends[0], testConfig()))
	for _, opts := range []JobEnqueueOptions{
		{Priority: MaxPriority + 1},
		{Priority: MinPriority - 1},
		{UniqueKey: string(make([]byte, MaxUniqueKeyLength+1))},
		{UniqueKey: "bad\xff"},
	} {
		_, err := store.EnqueueWithOptions("t", nil, &opts)
		expectErr(t, err, ErrInvalidOptions)
	}
	for _, opts := range []JobEnqueueOptions{{Priority: MaxPriority}, {Priority: MinPriority}, {UniqueKey: fmt.Sprintf("%0*d", MaxUniqueKeyLength, 7)}} {
		if _, err := store.EnqueueWithOptions("t", nil, &opts); err != nil {
			t.Fatalf("enqueue with %+v: %v", opts, err)
		}
	}
}

// TestBatchRunsInEnqueueOrder: jobs of one EnqueueMany share their run_at;
// their ids ascend in the batch's order, so one worker runs them in that
// order (claims take ties by id).
func TestBatchRunsInEnqueueOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store, ran := orderRecorder(t, b, func(job *Job) string { return string(job.Payload) })
		if err := store.Pause("t"); err != nil {
			t.Fatal(err)
		}
		items := make([]JobEnqueueItem, 20)
		want := make([]string, len(items))
		for i := range items {
			items[i] = JobEnqueueItem{Topic: "t", Payload: i}
			want[i] = fmt.Sprint(i)
		}
		jobs, err := store.EnqueueMany(items)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(jobs); i++ {
			if jobs[i-1].ID >= jobs[i].ID {
				t.Fatalf("ids %s then %s: want them ascending in the batch's order", jobs[i-1].ID, jobs[i].ID)
			}
		}
		if err := store.Resume("t"); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, store, jobs[len(jobs)-1].ID, StatusCompleted)
		waitFor(t, 10*time.Second, "every job to run", func() bool { return len(ran()) == len(want) })
		if got := ran(); !slices.Equal(got, want) {
			t.Fatalf("ran %v, want the batch's order", got)
		}
	})
}
