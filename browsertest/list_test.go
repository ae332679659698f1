package browsertest

import (
	"fmt"
	"testing"
)

// rowsMatch is a JavaScript expression: whether the jobs list has rows, all
// of them with field = value, among them the row of job wantID and not the
// row of job otherID.
func rowsMatch(field, value, wantID, otherID string) string {
	return fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll("#jobs tr[data-job-id]")];
		return rows.length > 0
			&& rows.every(r => r.querySelector("[data-field=%s]")?.textContent.trim() === %s)
			&& rows.some(r => r.dataset.jobId === %s)
			&& !rows.some(r => r.dataset.jobId === %s);
	})()`, field, js(value), js(wantID), js(otherID))
}

// The topic and status filters leave only the matching jobs in the list.
func TestFilterByTopicAndStatus(t *testing.T) {
	completed := enqueue(t, enqueueBody{Topic: "ok", Payload: map[string]any{"filter": "completed"}})
	failed := enqueue(t, enqueueBody{Topic: "fail", Payload: map[string]any{"filter": "failed"}, MaxRetries: retries(0)})
	waitJobStatus(t, completed.ID, "completed")
	waitJobStatus(t, failed.ID, "failed")

	ctx := newPage(t)
	signIn(t, ctx)
	do(t, ctx, "see both jobs", waitVisible(jobRow(completed.ID)), waitVisible(jobRow(failed.ID)))

	selectOption(t, ctx, "#filter-topic", "fail")
	waitJS(t, ctx, "only jobs of topic fail", rowsMatch("topic", "fail", failed.ID, completed.ID))
	screenshot(t, ctx, "filter-topic")

	selectOption(t, ctx, "#filter-topic", "")
	selectOption(t, ctx, "#filter-status", "completed")
	waitJS(t, ctx, "only completed jobs", rowsMatch("status", "completed", completed.ID, failed.ID))

	selectOption(t, ctx, "#filter-status", "")
	do(t, ctx, "see both jobs again", waitVisible(jobRow(completed.ID)), waitVisible(jobRow(failed.ID)))
}
