package jobs

import (
	"errors"
	"testing"
	"time"
)

// TestLastErrorIsStorableText checks that a handler error whose text is not
// valid UTF-8 or holds a NUL is stored (with the bad bytes replaced and the
// NUL removed), both for a retry and for a failure, and does not keep the
// outcomes written with it from being stored.
func TestLastErrorIsStorableText(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		const (
			text = "bad \xff\xfe bytes, a NUL \x00 and more"
			want = "bad \uFFFD bytes, a NUL  and more"
		)
		store := startedStore(t, b, testConfig(), map[string]func(*Job) error{
			"fail": func(*Job) error { return errors.New(text) },
			"ok":   func(*Job) error { return nil },
		})
		failed := mustEnqueue(t, store, "fail", nil, &JobEnqueueOptions{MaxRetries: NoRetries})
		retried := mustEnqueue(t, store, "fail", nil, &JobEnqueueOptions{MaxRetries: 1})
		completed := mustEnqueue(t, store, "ok", nil, nil)

		waitStatus(t, store, completed.ID, StatusCompleted)
		if got := waitStatus(t, store, failed.ID, StatusFailed); got.LastError != want {
			t.Errorf("failed job's last_error %q, want %q", got.LastError, want)
		}
		var got *Job
		waitFor(t, 10*time.Second, "the retried job to be pending again", func() bool {
			var err error
			if got, err = store.Get(retried.ID); err != nil {
				t.Fatal(err)
			}
			return got.Status == StatusPending && got.Attempts == 1
		})
		if got.LastError != want {
			t.Errorf("retried job's last_error %q, want %q", got.LastError, want)
		}
	})
}
