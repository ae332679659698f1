// Package browsertest holds the dashboard's end-to-end tests: a headless
// Chromium, driven with chromedp, signs in to /_/jobs/ on a real server (the
// test app of ./testapp) and checks what a superuser sees and does, live.
// The tests select elements by the DOM hooks the dashboard promises
// (#jobs tr[data-job-id], [data-field], [data-action] and the others).
//
// It is a module of its own, so that chromedp stays out of the plugin's
// go.mod. Run the tests from this directory:
//
//	go test -count=1 ./...
//
// They need Chromium (on Debian, apt-get install chromium) and fail without
// it. Screenshots go to screenshots/; -update-docs, or PB_JOBS_UPDATE_DOCS=1,
// copies the README's two to ../docs/ when every test passes.
package browsertest
