package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Timeouts of the browser tests. A condition that should hold within a
// moment (a live update is flushed every ~200 ms) gets waitTimeout; a whole
// test gets testTimeout.
const (
	waitTimeout  = 15 * time.Second
	testTimeout  = 90 * time.Second
	pollInterval = 25 * time.Millisecond
)

// Viewports the tests render at.
const (
	desktopWidth, desktopHeight = 1280, 800
	phoneWidth, phoneHeight     = 390, 844
)

// chromiumInstallHint says how to get the browser the tests need.
const chromiumInstallHint = "the browser tests need Chromium: install it with `apt-get install chromium` " +
	"(Debian's package), or put a chromium binary on PATH"

// findChromium returns the path of the Chromium binary, or an error saying
// how to install it.
func findChromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", errors.New(chromiumInstallHint)
}

// startBrowser starts a headless Chromium at path, with the flags it needs to
// run as root in a container, and returns the browser's context; cancelling
// it closes the browser.
func startBrowser(path string) (context.Context, context.CancelFunc, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(desktopWidth, desktopHeight),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	cancel := func() { cancelBrowser(); cancelAlloc() }
	// The first action starts the browser and ties its life to the context
	// it runs with, so it runs with browserCtx itself, without a deadline.
	if err := chromedp.Do(browserCtx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("start Chromium at %s: %w (%s)", path, err, chromiumInstallHint)
	}
	return browserCtx, cancel, nil
}

// newPage opens a tab in a browser context of its own (no cookies or
// storage shared with other tests) at the desktop viewport. Its JavaScript
// dialogs (the confirm() of a delete) are accepted. The tab closes when the
// test ends, or after testTimeout.
func newPage(t *testing.T) context.Context {
	t.Helper()
	tabCtx, cancelTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(tabCtx, testTimeout)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktopWidth, desktopHeight)); err != nil {
		cancelTimeout()
		cancelTab()
		t.Fatalf("open a tab: %v", err)
	}
	dialogsDone := make(chan struct{})
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		defer close(dialogsDone)
		for ev, err := range dialogs {
			if err != nil {
				return // the tab is closing
			}
			t.Logf("accepting a %s dialog: %s", ev.Type, ev.Message)
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		<-dialogsDone
	})
	return ctx
}

// dashboardURL is the dashboard's address on the test app.
func dashboardURL() string { return server.url + "/_/jobs/" }

// signIn opens the dashboard, signs the superuser in with the sign-in form,
// and waits until the signed-in shell shows and its live connection is up.
func signIn(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "open the dashboard", chromedp.Navigate(dashboardURL()))
	submitLogin(t, ctx, superuserEmail, superuserPassword)
	do(t, ctx, "see the signed-in shell", waitVisible("#app"))
	waitJS(t, ctx, "the live connection to be up", `document.querySelector("#live")?.dataset.state === "live"`)
}

// submitLogin fills the sign-in form with email and password and submits it.
func submitLogin(t *testing.T, ctx context.Context, email, password string) {
	t.Helper()
	do(t, ctx, "fill the sign-in form",
		waitVisible("#login-form"),
		chromedp.SendKeys(chromedp.CSS(`#login-form input[name=email]`), email),
		chromedp.SendKeys(chromedp.CSS(`#login-form input[name=password]`), password),
		click(`#login-form button[type=submit]`),
	)
}

// do runs steps in the page, and fails the test with what it was doing
// when one fails.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(stepCtx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitVisible is the step that waits until the first element matching the
// CSS selector sel is visible.
func waitVisible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// click is the step that clicks the first element matching the CSS
// selector sel, once it is visible.
func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel))
}

// evalJS evaluates expr in the page and returns its value.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS polls the JavaScript expression cond in the page until it is
// truthy, and fails the test, saying what it waited for, when it is not
// within waitTimeout.
func waitJS(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	poll := chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(pollInterval), chromedp.WithPollingTimeout(waitTimeout))
	if _, err := chromedp.Run(ctx, poll); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

// js returns s as a JavaScript string literal.
func js(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(b)
}

// textOf is a JavaScript expression: the trimmed text of the first element
// matching the CSS selector sel, or null when there is none.
func textOf(sel string) string {
	return fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? null)?.trim()`, js(sel))
}

// waitText waits until the first element matching sel has the text want
// (trimmed); on a timeout the test fails with the text it had.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	cond := fmt.Sprintf(`%s === %s`, textOf(sel), js(want))
	poll := chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(pollInterval), chromedp.WithPollingTimeout(waitTimeout))
	if _, err := chromedp.Run(ctx, poll); err != nil {
		got := evalJS[*string](t, ctx, textOf(sel))
		shown := "no such element"
		if got != nil {
			shown = fmt.Sprintf("%q", *got)
		}
		t.Fatalf("waiting for %s to read %q: it reads %s (%v)", sel, want, shown, err)
	}
}

// typeInto empties the form field sel, then types text into it as a user
// does, key by key.
func typeInto(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	do(t, ctx, "see "+sel, waitVisible(sel))
	evalJS[chromedp.Void](t, ctx, fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		el.value = "";
		el.dispatchEvent(new Event("input", {bubbles: true}));
	})()`, js(sel)))
	do(t, ctx, "type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// selectOption sets the select element sel to value, once it offers that
// value, the way a user's choice does: with input and change events.
func selectOption(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	waitJS(t, ctx, fmt.Sprintf("%s to offer %q", sel, value),
		fmt.Sprintf(`[...(document.querySelector(%s)?.options ?? [])].some(o => o.value === %s)`, js(sel), js(value)))
	evalJS[chromedp.Void](t, ctx, fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		el.value = %s;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
	})()`, js(sel), js(value)))
}

// jobRow is the CSS selector of job id's row in the jobs list.
func jobRow(id string) string { return fmt.Sprintf(`#jobs tr[data-job-id=%s]`, js(id)) }

// openJob opens job id from its row in the jobs list, and waits until the
// job view shows it.
func openJob(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	do(t, ctx, "open job "+id,
		waitVisible(jobRow(id)+" a[data-open-job]"),
		click(jobRow(id)+" a[data-open-job]"),
	)
	waitJobView(t, ctx, id)
}

// waitJobView waits until the job view is visible and shows job id.
func waitJobView(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	do(t, ctx, "see the job view", waitVisible("#job-detail"))
	waitJS(t, ctx, "the job view to show job "+id, fmt.Sprintf(`document.querySelector("#job-detail")?.dataset.jobId === %s`, js(id)))
}

// screenshot saves a full-page PNG of the page as screenshots/NAME.png.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
