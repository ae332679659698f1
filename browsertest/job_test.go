package browsertest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// jobField is the CSS selector of a field of the job view.
func jobField(name string) string { return fmt.Sprintf(`#job-detail [data-field=%s]`, name) }

// jobAction is the CSS selector of an action button of the job view.
func jobAction(name string) string { return fmt.Sprintf(`#job-detail button[data-action=%s]`, name) }

// Opening a job shows its payload as pretty JSON and each of its fields;
// closing it hides the view.
func TestOpenJobShowsPayloadAndFields(t *testing.T) {
	payload := map[string]any{"user": map[string]any{"id": "u-42", "tags": []any{"a", "b"}}, "count": 3.0}
	uniqueKey := "open-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	job := enqueue(t, enqueueBody{Topic: "ok", Payload: payload, RunAt: farRunAt, MaxRetries: retries(4), Priority: 7, UniqueKey: uniqueKey})

	ctx := newPage(t)
	signIn(t, ctx)
	openJob(t, ctx, job.ID)

	waitText(t, ctx, jobField("status"), "pending")
	shown := evalJS[string](t, ctx, textOf(jobField("payload")))
	var decoded map[string]any
	if err := json.Unmarshal([]byte(shown), &decoded); err != nil {
		t.Fatalf("the payload shown is not JSON: %v\n%s", err, shown)
	}
	if !reflect.DeepEqual(decoded, payload) {
		t.Errorf("the payload shown is %v, want %v", decoded, payload)
	}
	if !strings.Contains(shown, "\n ") {
		t.Errorf("the payload is not shown indented:\n%s", shown)
	}
	if tag := evalJS[string](t, ctx, `document.querySelector(`+js(jobField("payload"))+`).tagName`); tag != "PRE" {
		t.Errorf("the payload is in a %s, want a PRE", tag)
	}
	for field, want := range map[string]string{"attempts": "0", "max_retries": "4", "priority": "7", "unique_key": uniqueKey} {
		if got := evalJS[string](t, ctx, textOf(jobField(field))); !strings.Contains(got, want) {
			t.Errorf("%s shows %q, want it to hold %q", field, got, want)
		}
	}
	for _, field := range []string{"run_at", "created", "updated"} {
		if got := evalJS[string](t, ctx, textOf(jobField(field))); got == "" {
			t.Errorf("%s shows nothing", field)
		}
	}
	if got := evalJS[*string](t, ctx, textOf(jobField("last_error"))); got == nil {
		t.Error("the job view has no last_error field")
	}
	screenshot(t, ctx, "job-pending")

	do(t, ctx, "close the job view", click("button#job-close"), chromedp.WaitNotVisible(chromedp.CSS("#job-detail")))
}

// Requeueing a failed job from its view moves it back to pending, live; its
// topic is paused meanwhile, so that it stays pending instead of failing
// again at once.
func TestRequeueFailedJob(t *testing.T) {
	job := enqueue(t, enqueueBody{Topic: "fail", Payload: map[string]any{"requeue": true}, MaxRetries: retries(0)})
	waitJobStatus(t, job.ID, "failed")
	pauseDuringTest(t, "fail")

	ctx := newPage(t)
	signIn(t, ctx)
	openJob(t, ctx, job.ID)
	waitText(t, ctx, jobField("status"), "failed")
	waitJS(t, ctx, "the last error to show", fmt.Sprintf(`(%s ?? "").includes("always fails")`, textOf(jobField("last_error"))))
	screenshot(t, ctx, "job-failed")

	do(t, ctx, "requeue the job", click(jobAction("requeue")))
	waitText(t, ctx, jobField("status"), "pending")
	waitText(t, ctx, jobRow(job.ID)+" [data-field=status]", "pending")
	if got := getJob(t, job.ID); got.Status != "pending" {
		t.Errorf("the API says the requeued job is %s, want pending", got.Status)
	}
}

// Cancelling a pending job from its view makes it cancelled, live.
func TestCancelPendingJob(t *testing.T) {
	job := enqueue(t, enqueueBody{Topic: "ok", Payload: map[string]any{"cancel": true}, RunAt: farRunAt})

	ctx := newPage(t)
	signIn(t, ctx)
	openJob(t, ctx, job.ID)
	waitText(t, ctx, jobField("status"), "pending")

	do(t, ctx, "cancel the job", click(jobAction("cancel")))
	waitText(t, ctx, jobField("status"), "cancelled")
	waitText(t, ctx, jobRow(job.ID)+" [data-field=status]", "cancelled")
	if got := getJob(t, job.ID); got.Status != "cancelled" {
		t.Errorf("the API says the job is %s, want cancelled", got.Status)
	}
}

// An action the API refuses shows the API's message in #toast, marked as an
// error: here an enqueue from the form of a topic outside the test app's
// AllowedTopics, which the API answers with 403.
func TestRefusedActionShowsErrorToast(t *testing.T) {
	ctx := newPage(t)
	signIn(t, ctx)
	typeInto(t, ctx, `#enqueue-form input[name=topic]`, "not-allowed")
	typeInto(t, ctx, `#enqueue-form textarea[name=payload]`, `{"refused": true}`)
	do(t, ctx, "submit the enqueue form", click(`#enqueue-form button[type=submit]`))
	waitJS(t, ctx, "an error toast with the API's message", `(() => {
		const el = document.querySelector("#toast");
		return !!el && el.checkVisibility() && el.dataset.kind === "error"
			&& el.textContent.includes("not allowed");
	})()`)
	screenshot(t, ctx, "toast-error")
}
