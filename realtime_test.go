package jobs

import (
	"slices"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// realtimeFixture is a served app of the API fixture (its users and rules)
// on backend b, with the topic "ok" handled and the dispatcher running.
type realtimeFixture struct {
	*apiFixture
	store *JobStore
	url   string
}

// newRealtimeFixture builds and serves a realtimeFixture.
func newRealtimeFixture(t *testing.T, b backend) *realtimeFixture {
	t.Helper()
	cfg := apiConfig()
	cfg.AutoStart = true
	b.configure(t, &cfg)
	api := newAPIFixture(t, cfg)
	api.served = true
	store := GetJobStore(api.app)
	if err := store.Register("ok", func(*Job) error { return nil }); err != nil {
		t.Fatalf("register handler: %v", err)
	}
	t.Cleanup(func() { _ = store.Stop() })
	return &realtimeFixture{apiFixture: api, store: store, url: serveApp(t, api.app)}
}

// isJob returns a matcher of messages of action about job id (any action
// when action is "").
func isJob(id, action string) func(realtimeMsg) bool {
	return func(m realtimeMsg) bool {
		return m.Job != nil && m.Job.ID == id && (action == "" || m.Action == action)
	}
}

// TestRealtimeTellsEveryChangeOfAJob: a subscriber of "jobs" gets the
// creation of a job and its updates up to completed, with the job's JSON; a
// subscriber of "jobs/{id}" gets those of that job only; a delete carries
// the job's id, topic and status.
func TestRealtimeTellsEveryChangeOfAJob(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newRealtimeFixture(t, b)
		token := f.token(t, asSuperuser)
		all := connectRealtime(t, f.url)
		all.subscribe(t, token, "jobs")
		other := mustEnqueue(t, f.store, "unhandled", map[string]int{"n": 0}, nil)
		created := all.waitMsg(t, 10*time.Second, "creating the first job", isJob(other.ID, actionCreate))
		if created.topic != "jobs" || created.Job.Status != StatusPending || string(created.Job.Payload) != `{"n":0}` {
			t.Fatalf("create message %s on %q, want the pending job with its payload on \"jobs\"", created.Raw, created.topic)
		}

		job := mustEnqueue(t, f.store, "ok", map[string]int{"n": 1}, &JobEnqueueOptions{RunAt: time.Now().Add(time.Hour)})
		one := connectRealtime(t, f.url)
		one.subscribe(t, token, "jobs/"+job.ID)
		all.waitMsg(t, 10*time.Second, "creating the job", isJob(job.ID, actionCreate))
		if _, err := f.store.Cancel(other.ID); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		all.waitMsg(t, 10*time.Second, "cancelling the other job", func(m realtimeMsg) bool {
			return isJob(other.ID, actionUpdate)(m) && m.Job.Status == StatusCancelled
		})
		if _, err := f.store.Cancel(job.ID); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		if _, err := f.store.Requeue(job.ID); err != nil {
			t.Fatalf("requeue: %v", err)
		}
		done := all.waitMsg(t, 10*time.Second, "completing the job", func(m realtimeMsg) bool {
			return isJob(job.ID, actionUpdate)(m) && m.Job.Status == StatusCompleted
		})
		if done.Job.Attempts != 1 || done.Job.Topic != "ok" {
			t.Fatalf("completed job %s, want one attempt on topic ok", done.Raw)
		}
		oneDone := one.waitMsg(t, 10*time.Second, "completing the job on its own topic", func(m realtimeMsg) bool {
			if m.Job == nil || m.Job.ID != job.ID {
				t.Fatalf("subscriber of jobs/%s got %s", job.ID, m.Raw)
			}
			return m.Job.Status == StatusCompleted
		})
		if oneDone.topic != "jobs/"+job.ID {
			t.Fatalf("message of the job on topic %q, want jobs/%s", oneDone.topic, job.ID)
		}

		if err := f.store.Delete(other.ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		deleted := all.waitMsg(t, 10*time.Second, "deleting the other job", isJob(other.ID, actionDelete))
		if deleted.Job.Topic != "unhandled" || deleted.Job.Status != StatusCancelled {
			t.Fatalf("delete message %s, want the job's id, topic and status", deleted.Raw)
		}
	})
}

// TestRealtimeSubscriptionsNeedTheManageRule: a guest and a user the rule
// refuses keep their other subscriptions but get none of the job topics,
// and no job message; a user the rule lets in and a superuser get them.
func TestRealtimeSubscriptionsNeedTheManageRule(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newRealtimeFixture(t, b)
		type client struct {
			auth    string
			allowed bool
			rt      *realtimeClient
		}
		clients := []*client{{auth: asGuest}, {auth: asUser}, {auth: asOperator, allowed: true}, {auth: asSuperuser, allowed: true}}
		for _, c := range clients {
			c.rt = connectRealtime(t, f.url)
			c.rt.subscribe(t, f.token(t, c.auth), "users/*", "jobs", "jobs/x", `jobs?options={"query":{"a":"1"}}`)
			sub, err := f.app.SubscriptionsBroker().ClientById(c.rt.id)
			if err != nil {
				t.Fatalf("client of %q: %v", c.auth, err)
			}
			var got []string
			for name := range sub.Subscriptions() {
				got = append(got, name)
			}
			slices.Sort(got)
			want := []string{"users/*"}
			if c.allowed {
				want = []string{"jobs", "jobs/x", `jobs?options={"query":{"a":"1"}}`, "users/*"}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("subscriptions of %q = %q, want %q", c.auth, got, want)
			}
		}
		first := mustEnqueue(t, f.store, "unhandled", nil, nil)
		last := mustEnqueue(t, f.store, "unhandled", nil, nil)
		for _, c := range clients {
			if c.allowed {
				c.rt.waitMsg(t, 10*time.Second, "of the last job for "+c.auth, isJob(last.ID, actionCreate))
			}
		}
		for _, c := range clients {
			if !c.allowed {
				if events := c.rt.pending(); len(events) != 0 {
					t.Fatalf("%q, refused by the rule, got %+v (jobs %s, %s)", c.auth, events, first.ID, last.ID)
				}
			}
		}
	})
}

// TestRealtimeSumsUpABurst: when more jobs change within one flush than one
// flush tells job by job, a subscriber of "jobs" gets one stats message
// instead, with the counts after the burst, and no message per job.
func TestRealtimeSumsUpABurst(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newRealtimeFixture(t, b)
		sub := connectRealtime(t, f.url)
		sub.subscribe(t, f.token(t, asSuperuser), "jobs")
		before, err := f.store.Stats()
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		items := make([]JobEnqueueItem, 5*realtimeBatch)
		for i := range items {
			items[i] = JobEnqueueItem{Topic: "unhandled", Payload: i}
		}
		if _, err := f.store.EnqueueMany(items); err != nil {
			t.Fatalf("enqueue many: %v", err)
		}
		m := sub.next(t, 10*time.Second)
		if m.Action != actionStats || m.Stats == nil || m.Job != nil {
			t.Fatalf("first message after a burst %s, want a stats message", m.Raw)
		}
		if want := before.Pending + int64(len(items)); m.Stats.Pending != want {
			t.Fatalf("stats message %s, want %d pending", m.Raw, want)
		}
	})
}

// TestRealtimeCrossesProcesses: on PostgreSQL, the changes one process
// makes reach the realtime subscribers of another process sharing the job
// database — job by job, summed up after a burst, and those of a process
// that terminates at once, as a command of the command line does.
func TestRealtimeCrossesProcesses(t *testing.T) {
	t.Parallel()
	pg := backendNamed(t, "postgres")
	var cfg Config
	pg.configure(t, &cfg)
	shared := backend{name: pg.name, configure: func(_ testing.TB, c *Config) { c.PostgresDSN = cfg.PostgresDSN }}
	watched := newRealtimeFixture(t, shared)
	worker := newRealtimeFixture(t, shared)
	sub := connectRealtime(t, watched.url)
	sub.subscribe(t, watched.token(t, asSuperuser), "jobs")

	job := mustEnqueue(t, worker.store, "unhandled", nil, nil)
	sub.waitMsg(t, 10*time.Second, "of a job enqueued by the other process", isJob(job.ID, actionCreate))
	if _, err := worker.store.Cancel(job.ID); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	sub.waitMsg(t, 10*time.Second, "of a job cancelled by the other process", func(m realtimeMsg) bool {
		return isJob(job.ID, actionUpdate)(m) && m.Job.Status == StatusCancelled
	})

	items := make([]JobEnqueueItem, 5*realtimeBatch)
	for i := range items {
		items[i] = JobEnqueueItem{Topic: "unhandled", Payload: i}
	}
	if _, err := worker.store.EnqueueMany(items); err != nil {
		t.Fatalf("enqueue many: %v", err)
	}
	m := sub.waitMsg(t, 10*time.Second, "summing up the other process's burst", func(m realtimeMsg) bool { return m.Action == actionStats })
	if m.Stats.Pending < int64(len(items)) {
		t.Fatalf("stats message %s, want at least %d pending", m.Raw, len(items))
	}

	command := newApp(t, shared, testConfig())
	last := mustEnqueue(t, GetJobStore(command), "unhandled", nil, nil)
	err := command.OnTerminate().Trigger(&core.TerminateEvent{App: command}, func(*core.TerminateEvent) error { return nil })
	if err != nil {
		t.Fatalf("terminate: %v", err)
	}
	sub.waitMsg(t, 10*time.Second, "of a job enqueued by a process that terminated at once", isJob(last.ID, actionCreate))
}
