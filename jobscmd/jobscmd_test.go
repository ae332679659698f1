package jobscmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

func TestEnqueueThenListShowsTheJob(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, nil)

		var enqueued jobs.Job
		decode(t, mustRun(t, app, "jobs", "enqueue", "mail_digest", `{"user_id": "123"}`, "--json",
			"--run-at", "2030-02-01T07:00:00+01:00", "--max-retries", "5", "--priority", "10", "--unique-key", "u-123"),
			&enqueued)
		want := jobs.Job{Topic: "mail_digest", Payload: json.RawMessage(`{"user_id":"123"}`), Status: jobs.StatusPending,
			RunAt: time.Date(2030, 2, 1, 6, 0, 0, 0, time.UTC), MaxRetries: 5, Priority: 10, UniqueKey: "u-123"}
		if enqueued.ID == "" || enqueued.Topic != want.Topic || string(enqueued.Payload) != string(want.Payload) ||
			enqueued.Status != want.Status || !enqueued.RunAt.Equal(want.RunAt) || enqueued.MaxRetries != want.MaxRetries ||
			enqueued.Priority != want.Priority || enqueued.UniqueKey != want.UniqueKey {
			t.Fatalf("enqueued %+v, want %+v", enqueued, want)
		}

		table := mustRun(t, app, "jobs", "list")
		for _, s := range []string{enqueued.ID, "mail_digest", "pending", "2030-02-01T06:00:00Z", "jobs 1-1 of 1"} {
			if !strings.Contains(table, s) {
				t.Errorf("jobs list does not show %q:\n%s", s, table)
			}
		}

		var list jobs.JobList
		decode(t, mustRun(t, app, "jobs", "list", "--json", "--topic", "mail_digest", "--status", "pending"), &list)
		if list.Total != 1 || len(list.Items) != 1 || list.Items[0].ID != enqueued.ID || list.Limit != jobs.DefaultListLimit {
			t.Fatalf("jobs list --json: %+v, want the one job %s on a page of %d", list, enqueued.ID, jobs.DefaultListLimit)
		}
		decode(t, mustRun(t, app, "jobs", "list", "--json", "--status", "failed"), &list)
		if list.Total != 0 || len(list.Items) != 0 {
			t.Fatalf("jobs list --status failed --json: %+v, want no job", list)
		}
	})
}

func TestJSONIsWhatTheHTTPAPIAnswers(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(store *jobs.JobStore) error {
			return store.Schedule("nightly", "0 3 * * *", "report", map[string]string{"kind": "nightly"})
		})
		store := jobs.GetJobStore(app)
		job, err := store.Enqueue("mail_digest", map[string]string{"note": "<b>&</b>"})
		if err != nil {
			t.Fatal(err)
		}

		// The HTTP API encodes the store's values with encoding/json's
		// encoder (PocketBase's e.JSON), one line each.
		cases := []struct {
			args  []string
			value func() (any, error)
		}{
			{[]string{"get", job.ID}, func() (any, error) { return store.Get(job.ID) }},
			{[]string{"list"}, func() (any, error) { return store.List(nil) }},
			{[]string{"stats"}, func() (any, error) { return store.Stats() }},
			{[]string{"topics"}, func() (any, error) { return store.Topics() }},
			{[]string{"schedules"}, func() (any, error) { return store.Schedules() }},
		}
		for _, c := range cases {
			got := mustRun(t, app, append([]string{"jobs", "--json"}, c.args...)...)
			v, err := c.value()
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(v); err != nil {
				t.Fatal(err)
			}
			if got != want.String() {
				t.Errorf("jobs --json %s printed\n%s\nwant\n%s", strings.Join(c.args, " "), got, want.String())
			}
		}
	})
}

func TestGetPrintsTheJobFieldByField(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, nil)
		job, err := jobs.GetJobStore(app).EnqueueWithOptions("report", map[string]string{"month": "2030-01"},
			&jobs.JobEnqueueOptions{UniqueKey: "2030-01", Priority: -5})
		if err != nil {
			t.Fatal(err)
		}

		fields := map[string]string{}
		for _, line := range strings.Split(strings.TrimSuffix(mustRun(t, app, "jobs", "get", job.ID), "\n"), "\n") {
			name, value, _ := strings.Cut(line, ":")
			fields[name] = strings.TrimSpace(value)
		}
		want := map[string]string{
			"id": job.ID, "topic": "report", "status": "pending", "payload": `{"month":"2030-01"}`,
			"run_at": job.RunAt.Format(time.RFC3339Nano), "retries": "0 of 3", "attempts": "0", "last_error": "",
			"priority": "-5", "unique_key": "2030-01",
			"created": job.Created.Format(time.RFC3339Nano), "updated": job.Updated.Format(time.RFC3339Nano),
		}
		if fmt.Sprint(fields) != fmt.Sprint(want) {
			t.Fatalf("jobs get printed the fields\n%v\nwant\n%v", fields, want)
		}
	})
}

func TestEnqueueOptionsAndPayloads(t *testing.T) {
	t.Parallel()
	app := newApp(t, backends[0], nil)
	enqueue := func(stdin string, args ...string) *jobs.Job {
		t.Helper()
		out := runWithInput(t, app, stdin, append([]string{"jobs", "enqueue", "--json"}, args...)...)
		if out.err != nil {
			t.Fatalf("enqueue %s: %v", strings.Join(args, " "), out.err)
		}
		var job jobs.Job
		decode(t, out.stdout, &job)
		return &job
	}

	if job := enqueue("", "t"); string(job.Payload) != "null" || job.MaxRetries != jobs.DefaultMaxRetries {
		t.Errorf("enqueue without payload nor options: payload %s, max retries %d; want null and %d",
			job.Payload, job.MaxRetries, jobs.DefaultMaxRetries)
	}
	if job := enqueue(`{"from": "stdin"}`, "t", "-"); string(job.Payload) != `{"from":"stdin"}` {
		t.Errorf(`enqueue t - read the payload %s; want {"from":"stdin"}`, job.Payload)
	}
	for _, args := range [][]string{{"t", "--max-retries", "0"}, {"t", "--no-retries"}} {
		if job := enqueue("", args...); job.MaxRetries != 0 {
			t.Errorf("enqueue %s: max retries %d, want 0", strings.Join(args, " "), job.MaxRetries)
		}
	}
	first := enqueue("", "t", "--unique-key", "k")
	if again := enqueue("", "t", "--unique-key", "k"); again.ID != first.ID || !again.Duplicate {
		t.Errorf("a second enqueue with the unique key gave %s (duplicate %v), want %s marked as a duplicate",
			again.ID, again.Duplicate, first.ID)
	}
	if got := mustRun(t, app, "jobs", "enqueue", "t", "--unique-key", "k"); !strings.Contains(got, "duplicate:") {
		t.Errorf("a duplicate enqueue does not say so:\n%s", got)
	}
}

func TestCancelRequeueDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, nil)
		job, err := jobs.GetJobStore(app).Enqueue("report", nil)
		if err != nil {
			t.Fatal(err)
		}
		status := func(args ...string) string {
			t.Helper()
			var got jobs.Job
			decode(t, mustRun(t, app, append([]string{"jobs", "--json"}, args...)...), &got)
			return got.Status
		}

		if got := status("cancel", job.ID); got != jobs.StatusCancelled {
			t.Fatalf("jobs cancel: status %s, want cancelled", got)
		}
		if msg := mustFail(t, app, "jobs", "cancel", job.ID); !strings.Contains(msg, jobs.ErrCannotCancel.Error()) {
			t.Errorf("cancelling a cancelled job: %q, want it to say %q", msg, jobs.ErrCannotCancel)
		}
		if got := status("requeue", job.ID); got != jobs.StatusPending {
			t.Fatalf("jobs requeue: status %s, want pending", got)
		}
		if got := status("get", job.ID); got != jobs.StatusPending {
			t.Fatalf("jobs get after requeue: status %s, want pending", got)
		}
		if got := mustRun(t, app, "jobs", "delete", job.ID); got != "deleted job "+job.ID+"\n" {
			t.Errorf("jobs delete printed %q", got)
		}
		if _, err := jobs.GetJobStore(app).Get(job.ID); !errors.Is(err, jobs.ErrNotFound) {
			t.Fatalf("get after jobs delete: %v, want ErrNotFound", err)
		}
	})
}

func TestPauseAndResumeChangeTopics(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(store *jobs.JobStore) error {
			return store.Register("mail_digest", func(*jobs.Job) error { return nil })
		})
		topics := func() []jobs.TopicInfo {
			t.Helper()
			var got []jobs.TopicInfo
			decode(t, mustRun(t, app, "jobs", "topics", "--json"), &got)
			return got
		}
		if got := topics(); len(got) != 1 || got[0].Topic != "mail_digest" || got[0].Paused || !got[0].HasHandler {
			t.Fatalf("topics before pause: %+v, want mail_digest, not paused, with its handler", got)
		}

		var paused jobs.TopicInfo
		decode(t, mustRun(t, app, "jobs", "pause", "mail_digest", "--json"), &paused)
		if !paused.Paused || paused.Topic != "mail_digest" {
			t.Fatalf("jobs pause answered %+v", paused)
		}
		if got := topics(); len(got) != 1 || !got[0].Paused {
			t.Fatalf("topics after pause: %+v, want mail_digest paused", got)
		}
		table := mustRun(t, app, "jobs", "topics")
		if !strings.Contains(table, "PAUSED") || !strings.Contains(table, "yes") {
			t.Errorf("jobs topics does not show the pause:\n%s", table)
		}

		if got := mustRun(t, app, "jobs", "resume", "mail_digest"); !strings.Contains(got, "mail_digest") {
			t.Errorf("jobs resume printed %q", got)
		}
		if got := topics(); len(got) != 1 || got[0].Paused {
			t.Fatalf("topics after resume: %+v, want mail_digest not paused", got)
		}
	})
}

func TestStatsCountsJobsPerStatus(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, nil)
		store := jobs.GetJobStore(app)
		for range 2 {
			if _, err := store.Enqueue("a", nil); err != nil {
				t.Fatal(err)
			}
		}
		job, err := store.Enqueue("b", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Cancel(job.ID); err != nil {
			t.Fatal(err)
		}

		var stats jobs.JobStats
		decode(t, mustRun(t, app, "jobs", "stats", "--json"), &stats)
		if want := (jobs.JobStats{Pending: 2, Cancelled: 1, Total: 3}); stats != want {
			t.Fatalf("jobs stats --json: %+v, want %+v", stats, want)
		}
		got := mustRun(t, app, "jobs", "stats")
		want := "pending:    2\nprocessing: 0\ncompleted:  0\nfailed:     0\ncancelled:  1\ntotal:      3\n"
		if got != want {
			t.Fatalf("jobs stats printed\n%s\nwant\n%s", got, want)
		}
	})
}

func TestSchedulesShowsTheSchedulesDeclaredAtBootstrap(t *testing.T) {
	t.Parallel()
	app := newApp(t, backends[0], nil)
	if got := mustRun(t, app, "jobs", "schedules"); !strings.Contains(got, "no schedules") {
		t.Errorf("jobs schedules of an app without schedules printed %q", got)
	}

	app = newApp(t, backends[0], func(store *jobs.JobStore) error {
		return store.Schedule("nightly-digests", "0 6 * * *", "digest_all", nil)
	})
	got := mustRun(t, app, "jobs", "schedules")
	for _, s := range []string{"nightly-digests", "0 6 * * *", "digest_all"} {
		if !strings.Contains(got, s) {
			t.Errorf("jobs schedules does not show %q:\n%s", s, got)
		}
	}
}

func TestErrorsAreOneLineNamingTheProblem(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, nil)
		for _, verb := range []string{"get", "cancel", "requeue", "delete"} {
			msg := mustFail(t, app, "jobs", verb, "nosuchjob")
			if !strings.Contains(msg, `"nosuchjob"`) || !strings.Contains(msg, "job not found") {
				t.Errorf("jobs %s of an unknown id: %q, want it to name the id and say job not found", verb, msg)
			}
		}
	})
}

func TestBadInputIsRefused(t *testing.T) {
	t.Parallel()
	app := newApp(t, backends[0], nil)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"enqueue", "t", `{"user_id": `}, "invalid payload: PAYLOAD_JSON is not JSON"},
		{[]string{"enqueue", "t", `{"a": 1} trailing`}, "invalid payload: PAYLOAD_JSON is not JSON"},
		{[]string{"enqueue", "t", `{"id": 1, "ID": 2}`}, "invalid payload"},
		{[]string{"enqueue", " ", "{}"}, jobs.ErrEmptyTopic.Error()},
		{[]string{"enqueue", "t", "--run-at", "tomorrow"}, `--run-at "tomorrow" is not an RFC 3339 time`},
		{[]string{"enqueue", "t", "--max-retries", "-1"}, "--max-retries -1 is negative"},
		{[]string{"enqueue", "t", "--max-retries", "2000"}, "invalid options"},
		{[]string{"enqueue", "t", "--max-retries", "2", "--no-retries"}, "cannot both be given"},
		{[]string{"enqueue", "t", "--priority", "5000"}, "invalid options"},
		{[]string{"list", "--status", "done"}, `unknown status "done"`},
		{[]string{"list", "--limit", "501"}, "limit 501 is outside 0..500"},
		{[]string{"list", "--limit", "many"}, `invalid argument "many" for "--limit"`},
		{[]string{"get"}, "0 arguments given; usage: app jobs get ID"},
		{[]string{"get", "a", "b"}, "2 arguments given; usage: app jobs get ID"},
		{[]string{"enqueue"}, "0 arguments given; usage: app jobs enqueue TOPIC [PAYLOAD_JSON]"},
		{[]string{"pause", ""}, jobs.ErrEmptyTopic.Error()},
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "app jobs"`},
	}
	for _, c := range cases {
		if msg := mustFail(t, app, append([]string{"jobs"}, c.args...)...); !strings.Contains(msg, c.want) {
			t.Errorf("jobs %s: %q, want it to say %q", strings.Join(c.args, " "), msg, c.want)
		}
	}
	if stats, err := jobs.GetJobStore(app).Stats(); err != nil || stats.Total != 0 {
		t.Fatalf("after refused commands: stats %+v, %v; want no job", stats, err)
	}
}

func TestAFailedCommandExitsWithStatus1(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		exit []int
	}{
		{[]string{"jobs", "stats"}, nil},
		{[]string{"jobs", "get", "nosuchjob"}, []int{1}},
		{[]string{"jobs", "get"}, []int{1}},
		{[]string{"jobs", "list", "--bogus"}, []int{1}},
	}
	for _, c := range cases {
		app := newApp(t, backends[0], nil)
		var exits []int
		root := &cobra.Command{Use: "app"}
		if err := register(app, root, func(code int) { exits = append(exits, code) }); err != nil {
			t.Fatal(err)
		}
		root.SetOut(new(bytes.Buffer))
		jobsCommand(t, root).SetErr(new(bytes.Buffer))
		root.SetArgs(c.args)
		_ = root.Execute() // PocketBase's Execute drops the error, as here

		terminate := &core.TerminateEvent{App: app}
		if err := app.OnTerminate().Trigger(terminate, func(e *core.TerminateEvent) error {
			if len(exits) > 0 {
				t.Errorf("%s: exited before the app's cleanup", strings.Join(c.args, " "))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(exits) != fmt.Sprint(c.exit) {
			t.Errorf("%s: exit calls %v, want %v", strings.Join(c.args, " "), exits, c.exit)
		}
	}
}

func TestEverySubcommandHasHelp(t *testing.T) {
	t.Parallel()
	root := &cobra.Command{Use: "app"}
	if err := register(newApp(t, backends[0], nil), root, func(int) {}); err != nil {
		t.Fatal(err)
	}
	jobsCmd := jobsCommand(t, root)
	want := []string{"cancel", "delete", "enqueue", "get", "list", "pause", "requeue", "resume", "schedules", "stats", "topics"}
	var got []string
	for _, cmd := range jobsCmd.Commands() {
		got = append(got, cmd.Name())
		if cmd.Short == "" || cmd.Example == "" || !strings.Contains(cmd.Example, "jobs "+cmd.Name()) {
			t.Errorf("jobs %s: short %q, example %q; want a description and an example of it", cmd.Name(), cmd.Short, cmd.Example)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("subcommands %v, want %v", got, want)
	}
}

func TestListAndGetEscapeWhatCouldDriveTheTerminal(t *testing.T) {
	t.Parallel()
	app := newApp(t, backends[0], nil)
	job, err := jobs.GetJobStore(app).Enqueue("evil\n\x1b[31mtopic\t", map[string]string{"k": "\x1b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"jobs", "list"}, {"jobs", "get", job.ID}, {"jobs", "topics"}} {
		got := mustRun(t, app, args...)
		if strings.ContainsAny(got, "\x1b\t") || !strings.Contains(got, `evil\n\x1b[31mtopic\t`) {
			t.Errorf("%s printed the topic unescaped:\n%q", strings.Join(args, " "), got)
		}
	}
}

func TestCommandsRunNoJobAndExitWithTheirStatus(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		c := newChild(t, b)

		stdout, stderr, status := c.run(t, "jobs", "enqueue", childTopic, `{"n": 1}`, "--json")
		if status != 0 {
			t.Fatalf("jobs enqueue: exit status %d, stderr %q", status, stderr)
		}
		var job jobs.Job
		decode(t, stdout, &job)
		for _, args := range [][]string{{"jobs", "list"}, {"jobs", "stats"}, {"jobs", "topics"}, {"jobs", "requeue", job.ID}} {
			c.run(t, args...)
		}

		stdout, stderr, status = c.run(t, "jobs", "get", job.ID, "--json")
		if status != 0 {
			t.Fatalf("jobs get: exit status %d, stderr %q", status, stderr)
		}
		decode(t, stdout, &job)
		if job.Status != jobs.StatusPending || job.Attempts != 0 || c.ran(t) {
			t.Fatalf("after jobs commands on an app with a handler and AutoStart: status %s, %d attempts, handler ran %v; want pending, never run",
				job.Status, job.Attempts, c.ran(t))
		}

		stdout, stderr, status = c.run(t, "jobs", "get", "nosuchjob")
		if want := "Error: get job \"nosuchjob\": job not found\n"; status != 1 || stderr != want || stdout != "" {
			t.Fatalf("jobs get of an unknown id: exit status %d, stdout %q, stderr %q; want 1 and the one line %q",
				status, stdout, stderr, want)
		}
		if _, stderr, status = c.run(t, "jobs", "enqueue", childTopic, "{oops"); status != 1 || !strings.Contains(stderr, "not JSON") {
			t.Fatalf("jobs enqueue of a bad payload: exit status %d, stderr %q; want 1, saying it is not JSON", status, stderr)
		}
	})
}

// decode decodes the JSON s into v.
func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}
