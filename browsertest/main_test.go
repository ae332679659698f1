package browsertest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// screenshotDir is where the tests save their screenshots (gitignored).
const screenshotDir = "screenshots"

// docsScreenshots maps the screenshots the README shows to their place in
// the repository, relative to this module.
var docsScreenshots = map[string]string{
	"dashboard.png":     "../docs/dashboard.png",
	"dashboard-job.png": "../docs/dashboard-job.png",
}

// updateDocs asks for the README's screenshots to be refreshed from this
// run's, when every test passed. PB_JOBS_UPDATE_DOCS=1 asks the same.
var updateDocs = flag.Bool("update-docs", false, "copy the README's screenshots to ../docs/ when the tests pass")

// The test app and the browser every test of the package shares; the tests
// use jobs of their own, and the topics they pause they resume.
var (
	server     *testServer
	browserCtx context.Context
)

// TestMain builds and starts the test app and the browser, runs the tests,
// then stops both. Without Chromium the tests fail, saying how to install
// it: CI installs it, so a missing browser is never a reason to pass.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

// run is TestMain's body, so that its deferred stops run before the exit.
func run(m *testing.M) int {
	chromium, err := findChromium()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	// The screenshots are this run's: none of an earlier run may reach docs/.
	if err := os.RemoveAll(screenshotDir); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "pb-jobs-browsertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	bin, err := buildTestApp(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	server, err = startServer(bin, filepath.Join(dir, "pb_data"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: start the test app:", err)
		return 1
	}
	defer server.stop()

	var stopBrowser context.CancelFunc
	browserCtx, stopBrowser, err = startBrowser(chromium)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer stopBrowser()

	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- the test app's output (last lines):\n%s\n", server.logTail())
		return code
	}
	if *updateDocs || os.Getenv("PB_JOBS_UPDATE_DOCS") == "1" {
		if err := copyDocsScreenshots(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: update the README's screenshots:", err)
			return 1
		}
	}
	return 0
}

// copyDocsScreenshots copies the README's screenshots from screenshotDir to
// docs/.
func copyDocsScreenshots() error {
	for name, dst := range docsScreenshots {
		png, err := os.ReadFile(filepath.Join(screenshotDir, name))
		if err != nil {
			return fmt.Errorf("%w (run the whole package: TestDocsScreenshots takes it)", err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, png, 0o644); err != nil {
			return err
		}
	}
	return nil
}
