package browsertest

import (
	"fmt"
	"testing"
)

// A job enqueued over HTTP while the dashboard is open appears in the jobs
// list and reaches completed, and the completed count grows, all without a
// reload of the page.
func TestEnqueuedJobAppearsAndCompletesLive(t *testing.T) {
	ctx := newPage(t)
	signIn(t, ctx)
	// A reload would drop this mark.
	evalJS[bool](t, ctx, `window.__sameDocument = true`)
	waitJS(t, ctx, "the completed count", `/^\d+$/.test(`+textOf("[data-stat=completed]")+` ?? "")`)
	completedBefore := evalJS[int](t, ctx, `Number(`+textOf("[data-stat=completed]")+`)`)

	job := enqueue(t, enqueueBody{Topic: "ok", Payload: map[string]any{"live": true}})

	do(t, ctx, "see the enqueued job's row", waitVisible(jobRow(job.ID)))
	waitText(t, ctx, jobRow(job.ID)+" [data-field=topic]", "ok")
	waitText(t, ctx, jobRow(job.ID)+" [data-field=status]", "completed")
	waitJS(t, ctx, "the completed count to grow",
		fmt.Sprintf(`Number(%s) > %d`, textOf("[data-stat=completed]"), completedBefore))
	if !evalJS[bool](t, ctx, `window.__sameDocument === true`) {
		t.Fatal("the page was reloaded")
	}
	screenshot(t, ctx, "live-completed")
}
