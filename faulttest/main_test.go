package faulttest

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// buildWorker compiles ./worker into a temporary directory of t and returns
// the binary's path. Linking takes a second or two: tests that start worker
// processes build it once and share it between their subtests.
func buildWorker(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("find the go command to build the worker: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "worker")
	cmd := exec.Command(goTool, "build", "-o", bin, "./worker")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the worker: %v\n%s", err, out)
	}
	return bin
}
