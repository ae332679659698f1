package browsertest

import "testing"

// TestDocsScreenshots takes the README's two screenshots at 1280×800:
// the dashboard with jobs of every outcome (dashboard.png), and a failed
// job open (dashboard-job.png). Run with -update-docs (or
// PB_JOBS_UPDATE_DOCS=1) to copy them to docs/.
func TestDocsScreenshots(t *testing.T) {
	for i := range 3 {
		enqueue(t, enqueueBody{Topic: "ok", Payload: map[string]any{"user_id": 100 + i}})
	}
	failed := enqueue(t, enqueueBody{Topic: "fail", Payload: map[string]any{"url": "https://example.com/hook"}, MaxRetries: retries(0)})
	pending := enqueue(t, enqueueBody{Topic: "ok", Payload: map[string]any{"report": "2099-01"}, RunAt: farRunAt, UniqueKey: "report-2099-01"})
	waitJobStatus(t, failed.ID, "failed")

	ctx := newPage(t)
	signIn(t, ctx)
	do(t, ctx, "see the jobs", waitVisible(jobRow(failed.ID)), waitVisible(jobRow(pending.ID)))
	waitText(t, ctx, jobRow(failed.ID)+" [data-field=status]", "failed")
	screenshot(t, ctx, "dashboard")

	openJob(t, ctx, failed.ID)
	waitJS(t, ctx, "the last error to show", `(`+textOf(jobField("last_error"))+` ?? "").includes("always fails")`)
	screenshot(t, ctx, "dashboard-job")
}
