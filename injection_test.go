package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// This file injects what the plugin must survive: hostile strings through
// every input (SQL injection and odd text), and a fault in the driver.

// hostileStrings are SQL fragments, LIKE wildcards, placeholder syntaxes and
// odd characters, each used as a topic, a status filter, an id and a query
// parameter by the injection tests.
var hostileStrings = []string{
	`x'; DROP TABLE _jobs; --`,
	`" OR 1=1 --`,
	`%' OR '1'='1`,
	`') OR ('1'='1`,
	`1; DELETE FROM _jobs`,
	`pending' OR status <> 'pending`,
	`x" ; UPDATE _jobs SET status = 'completed'; --`,
	`\'; DROP TABLE users; --`,
	`%`,
	`_`,
	`*`,
	`{:topic}`,
	`?`,
	`$1`,
	`/* comment */`,
	"tab\tnew\nline",
	"nul\x00byte",
	"emoji 🔥 and ünïcode",
}

// TestHostileStringsThroughTheStore uses hostile strings as topics, payloads,
// status filters and ids through the Go API. Topics and payloads are stored
// verbatim and found again by an exact topic filter (no wildcard matching),
// or refused as invalid; a status filter is refused; an id finds nothing;
// and neither the other jobs nor the app's own tables change.
func TestHostileStringsThroughTheStore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, testConfig())
		store := GetJobStore(app)
		for _, topic := range []string{"bystander", "pending"} {
			mustEnqueue(t, store, topic, map[string]string{"keep": topic}, nil)
		}
		users, err := app.CountRecords("users")
		if err != nil {
			t.Fatal(err)
		}
		before := listAll(t, store)

		for _, s := range hostileStrings {
			t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
				job, err := store.Enqueue(s, map[string]string{"text": s})
				if err != nil {
					checkRefusal(t, err)
				} else {
					checkStored(t, store, job.ID, s)
				}

				_, err = store.List(&JobFilter{Status: s})
				expectErr(t, err, ErrInvalidFilter)
				_, err = store.Get(s)
				expectErr(t, err, ErrNotFound)
				expectErr(t, store.Delete(s), ErrNotFound)
				_, err = store.Requeue(s)
				expectErr(t, err, ErrNotFound)
			})
		}

		if after := listAll(t, store); after != before {
			t.Errorf("the other jobs changed:\nbefore %s\nafter  %s", before, after)
		}
		if n, err := app.CountRecords("users"); err != nil || n != users {
			t.Errorf("users: %d records (%v), want %d", n, err, users)
		}
	})
}

// checkRefusal fails t unless err refuses an enqueue as the caller's fault,
// as the HTTP API would answer it with a 4xx (never with a database error).
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if status := toAPIError(err).Status; status >= 500 {
		t.Errorf("enqueue failed with %v (HTTP %d), want it stored verbatim or refused as invalid", err, status)
	}
}

// checkStored checks that job id holds topic s and the payload {"text": s}
// verbatim, that an exact topic filter finds it alone, and deletes it.
func checkStored(t *testing.T, store *JobStore, id, s string) {
	t.Helper()
	got, err := store.Get(id)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	var payload map[string]string
	if err := got.UnmarshalPayload(&payload); err != nil {
		t.Fatal(err)
	}
	if got.Topic != s || payload["text"] != s {
		t.Errorf("stored topic %q and payload %q, want %q verbatim", got.Topic, payload["text"], s)
	}
	list, err := store.List(&JobFilter{Topic: s})
	if err != nil {
		t.Fatalf("list by topic: %v", err)
	}
	if list.Total != 1 || len(list.Items) != 1 || list.Items[0].ID != id {
		t.Errorf("list by topic found %d jobs, want only %s", list.Total, id)
	}
	if err := store.Delete(id); err != nil {
		t.Fatalf("delete: %v", err)
	}
}

// TestHostileStringsThroughTheHTTPAPI sends hostile strings as the topic
// and payload of an enqueue, as the topic, status, limit and offset of a
// listing, and as the id of every job route. An enqueued topic is stored
// verbatim; a listing by topic matches exactly; every other request is
// refused (400) or finds nothing (404); and the seeded jobs do not change.
func TestHostileStringsThroughTheHTTPAPI(t *testing.T) {
	f := newAPIFixture(t, apiConfig())
	before := f.snapshot(t)

	for _, s := range hostileStrings {
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			body, err := json.Marshal(map[string]any{"topic": s, "payload": map[string]string{"text": s}})
			if err != nil {
				t.Fatal(err)
			}
			query := url.QueryEscape(s)
			path := url.PathEscape(s)
			enqueue := apiCase{
				name: "enqueue", method: http.MethodPost, url: "/api/jobs/enqueue", body: string(body),
				headers: map[string]string{"Content-Type": "application/json"}, auth: asSuperuser,
				status: http.StatusOK, content: []string{`"status":"pending"`},
				check: func(t testing.TB, f *apiFixture) { checkStoredVerbatim(t, f, s) },
			}
			if !storableText(s) {
				// Text no database stores (NUL, invalid UTF-8) is refused.
				enqueue.status, enqueue.content, enqueue.check = http.StatusBadRequest, []string{`"status":400`}, nil
			}
			cases := []apiCase{
				enqueue,
				{
					name: "list by topic", method: http.MethodGet, url: "/api/jobs?topic=" + query,
					auth: asSuperuser, status: http.StatusOK, content: []string{`"total":0`},
				},
				{
					name: "list by status", method: http.MethodGet, url: "/api/jobs?status=" + query,
					auth: asSuperuser, status: http.StatusBadRequest, content: []string{`"status":400`},
				},
				{
					name: "limit", method: http.MethodGet, url: "/api/jobs?limit=" + query,
					auth: asSuperuser, status: http.StatusBadRequest, content: []string{`"status":400`},
				},
				{
					name: "offset", method: http.MethodGet, url: "/api/jobs?offset=" + query,
					auth: asSuperuser, status: http.StatusBadRequest, content: []string{`"status":400`},
				},
				{
					name: "get", method: http.MethodGet, url: "/api/jobs/" + path,
					auth: asSuperuser, status: http.StatusNotFound, content: []string{`"status":404`},
				},
				{
					name: "requeue", method: http.MethodPost, url: "/api/jobs/" + path + "/requeue",
					auth: asSuperuser, status: http.StatusNotFound, content: []string{`"status":404`},
				},
				{
					name: "delete", method: http.MethodDelete, url: "/api/jobs/" + path,
					auth: asSuperuser, status: http.StatusNotFound, content: []string{`"status":404`},
				},
			}
			for _, c := range cases {
				c.run(t, f)
			}
		})
	}

	if after := f.snapshot(t); after != before {
		t.Errorf("the seeded jobs changed:\nbefore %s\nafter  %s", before, after)
	}
}

// checkStoredVerbatim checks that exactly one job has topic s, with the
// payload {"text": s}, and deletes it so the fixture is as it was.
func checkStoredVerbatim(t testing.TB, f *apiFixture, s string) {
	t.Helper()
	store := GetJobStore(f.app)
	list, err := store.List(&JobFilter{Topic: s})
	if err != nil {
		t.Fatalf("list by topic: %v", err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d jobs have the topic %q, want 1", len(list.Items), s)
	}
	job := list.Items[0]
	var payload map[string]string
	if err := job.UnmarshalPayload(&payload); err != nil {
		t.Fatal(err)
	}
	if job.Topic != s || payload["text"] != s {
		t.Errorf("stored topic %q and payload %q, want %q verbatim", job.Topic, payload["text"], s)
	}
	if err := store.Delete(job.ID); err != nil {
		t.Fatalf("delete the enqueued job: %v", err)
	}
}

// listAll returns every job as JSON.
func listAll(t *testing.T, store *JobStore) string {
	t.Helper()
	list, err := store.List(&JobFilter{Limit: MaxListLimit})
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	encoded, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return string(encoded)
}

// TestTopicThatIsNotUTF8IsRefused registers a handler for a topic that is
// not valid UTF-8 and enqueues a job of it: no database stores such a topic
// as text, so both are refused with ErrInvalidTopic, and nothing is stored.
func TestTopicThatIsNotUTF8IsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		const topic = "mail\xff"
		store := GetJobStore(newApp(t, b, testConfig()))
		err := store.Register(topic, func(*Job) error { return nil })
		expectErr(t, err, ErrInvalidTopic)
		_, err = store.Enqueue(topic, nil)
		expectErr(t, err, ErrInvalidTopic)
		stats, err := store.Stats()
		if err != nil || stats.Total != 0 {
			t.Fatalf("stats %+v, %v; want no job", stats, err)
		}
	})
}

// claimCutShort wraps a driver so that a claim whose caller's context ends
// while the statement runs still commits — as a database does when the
// cancellation arrives after the statement finished — while the caller gets
// only the cancellation, as the client library reports it. PostgreSQL does
// this in practice; SQLite, rarely.
type claimCutShort struct {
	driver.Driver
	once    sync.Once
	entered chan struct{} // closed when the first claim starts
}

// Claim holds the first claims until ctx ends (or 200 ms pass), then claims
// in earnest, reporting ctx's error if it ended.
func (d *claimCutShort) Claim(ctx context.Context, p driver.ClaimParams) ([]driver.JobRow, error) {
	d.once.Do(func() { close(d.entered) })
	select {
	case <-ctx.Done():
	case <-time.After(200 * time.Millisecond):
	}
	rows, err := d.Driver.Claim(context.WithoutCancel(ctx), p)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return rows, err
}

// TestStopDuringAClaimLeavesNoJobProcessing stops the dispatcher while its
// claim is in flight in the database. However the claim ends, no job may be
// left processing: it would wait for its lock to expire instead of being
// pending at once (or run) as a graceful stop promises.
// faulttest.TestGracefulShutdownMidStream shows the same in real processes.
func TestStopDuringAClaimLeavesNoJobProcessing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		cfg.LockDuration = time.Hour
		store := GetJobStore(newApp(t, b, cfg))
		if err := store.Register("t", func(*Job) error { return nil }); err != nil {
			t.Fatal(err)
		}
		job := mustEnqueue(t, store, "t", nil, nil)

		db, err := store.p.currentDB()
		if err != nil {
			t.Fatal(err)
		}
		cut := &claimCutShort{Driver: db.drv, entered: make(chan struct{})}
		db.drv = cut // before Start: the dispatcher takes its driver then
		if err := store.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-cut.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the dispatcher never claimed")
		}
		if err := store.Stop(); err != nil {
			t.Fatal(err)
		}

		got, err := store.Get(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == StatusProcessing {
			t.Fatalf("after Stop the job is processing (attempt %d), locked until %s: "+
				"the stop cut the claim short and dropped the claimed jobs", got.Attempts, got.LockedUntil.Format(time.RFC3339))
		}
	})
}
