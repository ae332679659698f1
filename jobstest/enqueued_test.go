package jobstest_test

import (
	"encoding/json"
	"testing"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase-jobs/jobs/jobstest"
)

// digest is the payload of the tests' mail_digest jobs.
var digest = map[string]any{
	"user_id": "42",
	"count":   3,
	"tags":    []string{"weekly", "mail"},
	"window":  map[string]any{"from": "mon", "to": "sun"},
}

// TestRequireEnqueuedMatchesMembers passes for a job whose payload has the
// expected members, however the expectation is written, and returns it.
func TestRequireEnqueuedMatchesMembers(t *testing.T) {
	eachBackend(t, func(t *testing.T, configure func(testing.TB, *jobs.Config)) {
		store := newStore(t, configure)
		mustEnqueue(t, store, "mail_digest", map[string]any{"user_id": "41"}, nil)
		want := mustEnqueue(t, store, "mail_digest", digest, &jobs.JobEnqueueOptions{UniqueKey: "u42"})
		type window struct {
			From string `json:"from"`
		}
		for name, payload := range map[string]any{
			"a member":               map[string]any{"user_id": "42"},
			"a nested member":        map[string]any{"window": map[string]any{"to": "sun"}},
			"a number written apart": json.RawMessage(`{"count": 3.0}`),
			"an array":               map[string]any{"tags": []string{"weekly", "mail"}},
			"a struct": struct {
				Window window `json:"window"`
			}{window{"mon"}},
			"bytes":             []byte(`{"user_id":"42","count":3}`),
			"the whole payload": digest,
		} {
			rec := &recorder{TB: t}
			got := jobstest.RequireEnqueued(rec, store, "mail_digest", payload, &jobstest.MatchOptions{Status: jobs.StatusPending, UniqueKey: "u42"})
			rec.passed(t)
			if got == nil || got.ID != want.ID {
				t.Errorf("%s: got job %v, want %s", name, got, want.ID)
			}
		}
		rec := &recorder{TB: t}
		if got := jobstest.RequireEnqueued(rec, store, "mail_digest", nil, nil); got == nil || got.ID == want.ID {
			t.Errorf("any payload: got %v, want the oldest job", got)
		}
		rec.passed(t)
	})
}

// TestRequireEnqueuedFailsReadably fails the test with a message that says
// what was wanted and, for each job of the topic, where it differs; or,
// when the topic has none, which topics have jobs.
func TestRequireEnqueuedFailsReadably(t *testing.T) {
	eachBackend(t, func(t *testing.T, configure func(testing.TB, *jobs.Config)) {
		store := newStore(t, configure)
		job := mustEnqueue(t, store, "mail_digest", digest, nil)
		for _, c := range []struct {
			name    string
			topic   string
			payload any
			opts    *jobstest.MatchOptions
			says    []string
		}{
			{"another value", "mail_digest", map[string]any{"user_id": "41"}, nil,
				[]string{`no job of topic "mail_digest" matches {"user_id":"41"}; the topic's 1 job:`, job.ID + " pending ", `user_id is "42", want "41"`}},
			{"a missing member", "mail_digest", map[string]any{"window": map[string]any{"days": 7}}, nil,
				[]string{"no member window.days"}},
			{"another array", "mail_digest", map[string]any{"tags": []string{"weekly"}}, nil,
				[]string{`tags is ["weekly","mail"], want ["weekly"]`}},
			{"another type", "mail_digest", map[string]any{"count": "3"}, nil,
				[]string{`count is 3, want "3"`}},
			{"another status", "mail_digest", nil, &jobstest.MatchOptions{Status: jobs.StatusCompleted},
				[]string{"matches any payload, status completed", "status is pending, want completed"}},
			{"another unique key", "mail_digest", nil, &jobstest.MatchOptions{UniqueKey: "k"},
				[]string{`unique key "k"`, `unique key is "", want "k"`}},
			{"a topic without jobs", "mail_digets", nil, nil,
				[]string{`no job of topic "mail_digets"`, `the topic has no job; topics with jobs: "mail_digest" (1 job)`}},
		} {
			t.Run(c.name, func(t *testing.T) {
				rec := &recorder{TB: t}
				if got := jobstest.RequireEnqueued(rec, store, c.topic, c.payload, c.opts); got != nil {
					t.Errorf("returned job %s, want nil", got.ID)
				}
				rec.failure(t, c.says...)
			})
		}
	})
}

// TestRequireEnqueuedRefusesABadExpectation fails the test when the
// expected payload is not JSON.
func TestRequireEnqueuedRefusesABadExpectation(t *testing.T) {
	t.Parallel()
	store := newStore(t, backends[0].configure)
	rec := &recorder{TB: t}
	jobstest.RequireEnqueued(rec, store, "mail_digest", json.RawMessage(`{"user_id":`), nil)
	rec.failure(t, "the expected payload is not valid JSON")
}

// TestRequireNotEnqueued passes when no job of the topic matches, and
// fails listing the jobs that do.
func TestRequireNotEnqueued(t *testing.T) {
	eachBackend(t, func(t *testing.T, configure func(testing.TB, *jobs.Config)) {
		store := newStore(t, configure)
		job := mustEnqueue(t, store, "mail_digest", digest, nil)

		rec := &recorder{TB: t}
		jobstest.RequireNotEnqueued(rec, store, "mail_digest", map[string]any{"user_id": "41"}, nil)
		jobstest.RequireNotEnqueued(rec, store, "mail_digest", nil, &jobstest.MatchOptions{Status: jobs.StatusFailed})
		jobstest.RequireNotEnqueued(rec, store, "other", nil, nil)
		rec.passed(t)

		jobstest.RequireNotEnqueued(rec, store, "mail_digest", map[string]any{"user_id": "42"}, nil)
		rec.failure(t, `want no job of topic "mail_digest" matching {"user_id":"42"}, found 1 job:`, job.ID+" pending {")
	})
}

// TestEnqueued returns every job of the topic, oldest first, in every
// status.
func TestEnqueued(t *testing.T) {
	eachBackend(t, func(t *testing.T, configure func(testing.TB, *jobs.Config)) {
		store := newStore(t, configure)
		first := mustEnqueue(t, store, "mail_digest", map[string]any{"n": 1}, nil)
		mustEnqueue(t, store, "other", nil, nil)
		second := mustEnqueue(t, store, "mail_digest", map[string]any{"n": 2}, nil)
		if _, err := store.Cancel(second.ID); err != nil {
			t.Fatalf("cancel: %v", err)
		}

		got := jobstest.Enqueued(t, store, "mail_digest")

		if len(got) != 2 || got[0].ID != first.ID || got[1].ID != second.ID || got[1].Status != jobs.StatusCancelled {
			t.Fatalf("got %d jobs, want the first then the cancelled second", len(got))
		}
		if none := jobstest.Enqueued(t, store, "nobody"); len(none) != 0 {
			t.Errorf("got %d jobs of a topic without any", len(none))
		}
	})
}
