package browsertest

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// tabUntil presses Tab until the focused element matches the CSS selector
// sel, and fails the test when maxTabs presses do not get there.
func tabUntil(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	const maxTabs = 200
	focused := fmt.Sprintf(`!!document.activeElement?.matches(%s)`, js(sel))
	for range maxTabs {
		do(t, ctx, "press Tab", chromedp.KeyEvent("\t"))
		if evalJS[bool](t, ctx, focused) {
			return
		}
	}
	t.Fatalf("%d presses of Tab did not focus %s", maxTabs, sel)
}

// At a phone's viewport the jobs table shows, the page does not scroll
// sideways, and the keyboard alone reaches the actions: Tab focuses a
// topic's action button; from the top of the page again, Tab reaches a
// job's row link, Enter opens the job, and Tab reaches the job's cancel
// button.
func TestPhoneViewportAndKeyboard(t *testing.T) {
	job := enqueue(t, enqueueBody{Topic: "ok", Payload: map[string]any{"phone": true}, RunAt: farRunAt})

	ctx := newPage(t)
	do(t, ctx, "set a phone's viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile))
	signIn(t, ctx)
	do(t, ctx, "see the jobs table and the job's row", waitVisible("table#jobs"), waitVisible(jobRow(job.ID)))
	if wide := evalJS[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth`); wide {
		t.Error("the page is wider than the phone's viewport: it scrolls sideways")
	}
	screenshot(t, ctx, "phone")

	tabUntil(t, ctx, topicRow("ok")+" button[data-action]")

	// Loading the page again starts the keyboard's path at its top; the
	// session is kept.
	do(t, ctx, "load the dashboard again", chromedp.Navigate(dashboardURL()), waitVisible(jobRow(job.ID)))
	tabUntil(t, ctx, jobRow(job.ID)+" a[data-open-job]")
	do(t, ctx, "press Enter on the job's row link", chromedp.KeyEvent("\r"))
	waitJobView(t, ctx, job.ID)
	tabUntil(t, ctx, jobAction("cancel"))
	screenshot(t, ctx, "phone-job")
}
