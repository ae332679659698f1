package jobs

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestEnqueueStoresPendingJob(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		before := time.Now()
		job, err := store.Enqueue("mail_digest", map[string]any{"user_id": "123"})
		if err != nil {
			t.Fatal(err)
		}
		if len(job.ID) != 15 || job.Topic != "mail_digest" || job.Status != StatusPending {
			t.Fatalf("unexpected job %+v", job)
		}
		if job.MaxRetries != DefaultMaxRetries || job.Retries != 0 || job.Attempts != 0 {
			t.Fatalf("retries: got max=%d retries=%d attempts=%d", job.MaxRetries, job.Retries, job.Attempts)
		}
		if job.RunAt.Before(before.Add(-time.Millisecond)) || job.RunAt.After(time.Now()) {
			t.Fatalf("run_at %v is not now", job.RunAt)
		}
		got, err := store.Get(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.RunAt.Equal(job.RunAt) || !got.Created.Equal(job.Created) || got.Status != StatusPending {
			t.Fatalf("read back %+v, enqueued %+v", got, job)
		}
		var payload struct {
			UserID string `json:"user_id"`
		}
		if err := got.UnmarshalPayload(&payload); err != nil || payload.UserID != "123" {
			t.Fatalf("payload %+v, err %v", payload, err)
		}
	})
}

func TestPayloadReadsBackAsJSON(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		cases := []struct {
			name    string
			payload any
			want    string
		}{
			{"object", map[string]any{"a": 1}, `{"a":1}`},
			{"array", []int{1, 2, 3}, `[1,2,3]`},
			{"string", "hello", `"hello"`},
			{"number", 42, `42`},
			{"nil", nil, `null`},
			{"raw message", json.RawMessage(`{"raw": true}`), `{"raw":true}`},
			{"raw bytes", []byte(`[1, "x"]`), `[1,"x"]`},
		}
		for _, c := range cases {
			job := mustEnqueue(t, store, "t", c.payload, nil)
			got, err := store.Get(job.ID)
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			if err := json.Unmarshal(got.Payload, &gotV); err != nil {
				t.Fatalf("%s: stored payload %q is not JSON: %v", c.name, got.Payload, err)
			}
			_ = json.Unmarshal([]byte(c.want), &wantV)
			gotJSON, _ := json.Marshal(gotV)
			wantJSON, _ := json.Marshal(wantV)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("%s: payload %s, want %s", c.name, got.Payload, c.want)
			}
			encoded, _ := json.Marshal(got)
			if !strings.Contains(string(encoded), `"payload":`+string(got.Payload)) {
				t.Errorf("%s: job JSON %s does not embed the payload as JSON", c.name, encoded)
			}
		}
	})
}

func TestPayloadSizeLimitIsExact(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		// A JSON string's encoding is its text plus two quotes.
		exact := strings.Repeat("a", DefaultMaxPayloadSize-2)
		if _, err := store.Enqueue("big", exact); err != nil {
			t.Fatalf("payload of exactly %d bytes refused: %v", DefaultMaxPayloadSize, err)
		}
		_, err := store.Enqueue("big", exact+"a")
		expectErr(t, err, ErrPayloadTooLarge)
		stats, err := store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if stats.Total != 1 {
			t.Fatalf("refused payload was stored: total %d", stats.Total)
		}
	})
}

func TestEnqueueRefusesBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		_, err := store.Enqueue("", 1)
		expectErr(t, err, ErrEmptyTopic)
		_, err = store.Enqueue("   ", 1)
		expectErr(t, err, ErrEmptyTopic)
		_, err = store.Enqueue("t", func() {})
		expectErr(t, err, ErrInvalidPayload)
		_, err = store.Enqueue("t", json.RawMessage(`{not json`))
		expectErr(t, err, ErrInvalidPayload)
		_, err = store.EnqueueWithOptions("t", 1, &JobEnqueueOptions{MaxRetries: -2})
		expectErr(t, err, ErrInvalidOptions)
		stats, err := store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if stats.Total != 0 {
			t.Fatalf("refused enqueues stored %d jobs", stats.Total)
		}
	})
}

func TestEnqueueOptions(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		runAt := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		job := mustEnqueue(t, store, "t", nil, &JobEnqueueOptions{RunAt: runAt, MaxRetries: 5})
		if !job.RunAt.Equal(runAt) || job.MaxRetries != 5 {
			t.Fatalf("got run_at %v max %d", job.RunAt, job.MaxRetries)
		}
		job = mustEnqueue(t, store, "t", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		if job.MaxRetries != 0 {
			t.Fatalf("NoRetries stored max_retries %d", job.MaxRetries)
		}
		at, err := store.EnqueueAt("t", nil, runAt)
		if err != nil || !at.RunAt.Equal(runAt) {
			t.Fatalf("EnqueueAt: %v %v", at, err)
		}
	})
}

func TestListFiltersAndPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := GetJobStore(newApp(t, b, testConfig()))
		var ids []string
		for i := 0; i < 5; i++ {
			ids = append(ids, mustEnqueue(t, store, "a", i, nil).ID)
		}
		mustEnqueue(t, store, "b", 0, nil)

		all, err := store.List(nil)
		if err != nil {
			t.Fatal(err)
		}
		if all.Total != 6 || len(all.Items) != 6 || all.Limit != DefaultListLimit {
			t.Fatalf("list all: total %d items %d limit %d", all.Total, len(all.Items), all.Limit)
		}

		page, err := store.List(&JobFilter{Topic: "a", Status: StatusPending, Limit: 2, Offset: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 5 || len(page.Items) != 2 || page.Offset != 1 {
			t.Fatalf("page: total %d items %d", page.Total, len(page.Items))
		}
		for _, j := range page.Items {
			if j.Topic != "a" {
				t.Fatalf("topic filter let through %q", j.Topic)
			}
		}

		none, err := store.List(&JobFilter{Status: StatusFailed})
		if err != nil || none.Total != 0 || len(none.Items) != 0 || none.Items == nil {
			t.Fatalf("failed filter: %+v %v", none, err)
		}

		for _, bad := range []*JobFilter{{Status: "done"}, {Limit: -1}, {Limit: MaxListLimit + 1}, {Offset: -1}} {
			_, err := store.List(bad)
			expectErr(t, err, ErrInvalidFilter)
		}
	})
}

func TestStatsCountsEveryStatus(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"ok":   func(*Job) error { return nil },
			"fail": func(*Job) error { return errTest },
		})
		done := mustEnqueue(t, store, "ok", nil, nil)
		failed := mustEnqueue(t, store, "fail", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		mustEnqueue(t, store, "idle", nil, nil)
		waitStatus(t, store, done.ID, StatusCompleted)
		waitStatus(t, store, failed.ID, StatusFailed)
		stats, err := store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		want := JobStats{Pending: 1, Completed: 1, Failed: 1, Total: 3}
		if *stats != want {
			t.Fatalf("stats %+v, want %+v", *stats, want)
		}
	})
}

func TestDeleteOnlyPendingOrFailed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		release := make(chan struct{})
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"ok":    func(*Job) error { return nil },
			"fail":  func(*Job) error { return errTest },
			"block": func(*Job) error { <-release; return nil },
		})
		defer close(release)
		pending := mustEnqueue(t, store, "idle", nil, nil)
		failed := mustEnqueue(t, store, "fail", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		completed := mustEnqueue(t, store, "ok", nil, nil)
		processing := mustEnqueue(t, store, "block", nil, nil)
		waitStatus(t, store, failed.ID, StatusFailed)
		waitStatus(t, store, completed.ID, StatusCompleted)
		waitStatus(t, store, processing.ID, StatusProcessing)

		for _, id := range []string{pending.ID, failed.ID} {
			if err := store.Delete(id); err != nil {
				t.Fatalf("delete %s: %v", id, err)
			}
			_, err := store.Get(id)
			expectErr(t, err, ErrNotFound)
		}
		for _, id := range []string{completed.ID, processing.ID} {
			expectErr(t, store.Delete(id), ErrCannotDelete)
			if _, err := store.Get(id); err != nil {
				t.Fatalf("refused delete removed %s: %v", id, err)
			}
		}
		expectErr(t, store.Delete("nosuchjob123456"), ErrNotFound)
	})
}

func TestRequeueOnlyFailed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var fail atomic.Bool
		fail.Store(true)
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"flaky": func(*Job) error {
				if fail.Load() {
					return errTest
				}
				return nil
			},
		})
		job := mustEnqueue(t, store, "flaky", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		failed := waitStatus(t, store, job.ID, StatusFailed)
		if failed.LastError != errTest.Error() {
			t.Fatalf("last_error %q", failed.LastError)
		}
		fail.Store(false)

		requeued, err := store.Requeue(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if requeued.Status != StatusPending || requeued.Attempts != 0 || requeued.Retries != 0 {
			t.Fatalf("requeued %+v", requeued)
		}
		waitStatus(t, store, job.ID, StatusCompleted)

		_, err = store.Requeue(job.ID)
		expectErr(t, err, ErrCannotRequeue)
		pending := mustEnqueue(t, store, "idle", nil, nil)
		_, err = store.Requeue(pending.ID)
		expectErr(t, err, ErrCannotRequeue)
		_, err = store.Requeue("nosuchjob123456")
		expectErr(t, err, ErrNotFound)
	})
}

func TestEnqueueManyIsAllOrNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"t": func(*Job) error { return nil },
		})
		items := make([]JobEnqueueItem, 100)
		for i := range items {
			items[i] = JobEnqueueItem{Topic: "t", Payload: map[string]int{"i": i}}
		}
		created, err := store.EnqueueMany(items)
		if err != nil {
			t.Fatal(err)
		}
		if len(created) != len(items) {
			t.Fatalf("created %d jobs", len(created))
		}
		for _, j := range created {
			waitStatus(t, store, j.ID, StatusCompleted)
		}

		bad := append(items[:2:2], JobEnqueueItem{Topic: ""})
		_, err = store.EnqueueMany(bad)
		expectErr(t, err, ErrEmptyTopic)
		stats, _ := store.Stats()
		if stats.Total != int64(len(items)) {
			t.Fatalf("a refused batch stored jobs: total %d", stats.Total)
		}
	})
}
