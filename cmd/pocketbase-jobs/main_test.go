//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/testpoll"
)

// Time limits of the binary's processes.
const (
	startLimit = 30 * time.Second // from exec to an answer of /api/health
	jobLimit   = 20 * time.Second // from the enqueue to the job's completion
	stopLimit  = 15 * time.Second // from SIGTERM to the end of the process
)

// binary is the path of the pocketbase-jobs binary that TestMain builds.
var binary string

// TestMain builds the binary once for the tests, with the race detector when
// the tests have it: the build then takes the packages of the test's own
// build from the cache, and a race in the binary makes it exit with status
// 66, which the tests see.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pocketbase-jobs-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create the build directory:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "pocketbase-jobs")
	args := append([]string{"build"}, raceFlag()...)
	if out, err := exec.Command("go", append(args, "-o", binary, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the binary: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// raceFlag is go build's -race when this test binary was built with it.
func raceFlag() []string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return []string{"-race"}
			}
		}
	}
	return nil
}

// greetHooks is a pb_hooks file: a JavaScript handler of greet jobs that
// writes the payload's greeting to greeting.txt beside pb_hooks, and a
// route that enqueues a greet job.
const greetHooks = `
onJobRun((e) => {
  $os.writeFile(__hooks + "/../greeting.txt", e.job.payload.greeting, 0o644)
  e.next()
}, "greet")

routerAdd("POST", "/enqueue", (e) => {
  const job = $jobs.enqueue("greet", { greeting: "hello from pb_hooks" })
  return e.json(200, { id: job.id })
})
`

// TestServeRunsAJobOfAPBHooksHandler serves the binary with a pb_hooks file,
// enqueues a job from its JavaScript route, sees its JavaScript handler run
// it, and lists it with the jobs command.
func TestServeRunsAJobOfAPBHooksHandler(t *testing.T) {
	inst := newInstall(t)
	if err := os.WriteFile(filepath.Join(inst.hooksDir, "main.pb.js"), []byte(greetHooks), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := inst.serve(t)

	resp, err := http.Post(srv.url+"/enqueue", "application/json", nil)
	if err != nil {
		t.Fatalf("POST /enqueue: %v", err)
	}
	var enqueued struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&enqueued)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || enqueued.ID == "" {
		t.Fatalf("POST /enqueue: status %d, decode error %v, id %q", resp.StatusCode, err, enqueued.ID)
	}

	waitFor(t, jobLimit, "the job to complete", func() bool {
		var job struct{ Status, LastError string }
		out := inst.run(t, "jobs", "get", enqueued.ID, "--json")
		if err := json.Unmarshal([]byte(out), &job); err != nil {
			t.Fatalf("jobs get --json: %v\n%s", err, out)
		}
		if job.Status == "failed" {
			t.Fatalf("the job failed: %s", job.LastError)
		}
		return job.Status == "completed"
	})
	greeting, err := os.ReadFile(filepath.Join(inst.root, "greeting.txt"))
	if err != nil || string(greeting) != "hello from pb_hooks" {
		t.Fatalf("greeting.txt: %q, %v; want the payload's greeting, written by the handler", greeting, err)
	}
	list := inst.run(t, "jobs", "list")
	if !strings.Contains(list, enqueued.ID) || !strings.Contains(list, "greet") || !strings.Contains(list, "completed") {
		t.Fatalf("jobs list does not show the completed greet job %s:\n%s", enqueued.ID, list)
	}
	srv.stop(t)
}

// TestBadJobsVariableStopsCommandsButNotHelp runs the binary with a
// PB_JOBS_* value it cannot use: a command fails with one line naming it,
// and --help still answers.
func TestBadJobsVariableStopsCommandsButNotHelp(t *testing.T) {
	inst := newInstall(t, "PB_JOBS_WORKERS=many")
	cmd := inst.command("jobs", "list")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("jobs list with PB_JOBS_WORKERS=many succeeded")
	}
	if !strings.Contains(stderr.String(), `PB_JOBS_WORKERS="many"`) {
		t.Fatalf("the error does not name the variable: %q", stderr.String())
	}
	help := exec.Command(binary, "--help")
	help.Env = inst.env
	out, err := help.Output()
	if err != nil || !strings.Contains(string(out), "--hooksDir") || !strings.Contains(string(out), "jobs ") {
		t.Fatalf("--help: %v; want the flags of the standard build and the jobs command:\n%s", err, out)
	}
}

// install is a directory laid out as a PocketBase installation: pb_data
// and pb_hooks side by side, and the environment the binary runs with.
type install struct {
	root, dataDir, hooksDir string
	env                     []string
}

// newInstall creates an installation in a temporary directory of t, whose
// processes get this process's environment without PB_JOBS_* variables,
// plus env.
func newInstall(t *testing.T, env ...string) *install {
	t.Helper()
	root := t.TempDir()
	inst := &install{root: root, dataDir: filepath.Join(root, "pb_data"), hooksDir: filepath.Join(root, "pb_hooks")}
	if err := os.Mkdir(inst.hooksDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PB_JOBS_") {
			inst.env = append(inst.env, kv)
		}
	}
	inst.env = append(inst.env, env...)
	return inst
}

// command returns the binary's command with args on the installation.
// --dev=false: PocketBase takes a binary in a temporary directory for one
// of "go run" and would print every SQL statement.
func (inst *install) command(args ...string) *exec.Cmd {
	cmd := exec.Command(binary, append(args, "--dir", inst.dataDir, "--hooksDir", inst.hooksDir, "--dev=false")...)
	cmd.Env = inst.env
	return cmd
}

// run runs the binary with args and returns its standard output; it fails
// t if the command fails.
func (inst *install) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := inst.command(args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// server is a serve process of the binary.
type server struct {
	url     string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has ended; err is then set
	err     error
	logPath string // its stdout and stderr
}

// serve starts the binary's serve command on a free port of 127.0.0.1 and
// waits until it answers /api/health. The process is killed when t ends if
// it is still running.
func (inst *install) serve(t *testing.T) *server {
	t.Helper()
	addr := freeLoopbackAddr(t)
	srv := &server{url: "http://" + addr, exited: make(chan struct{}), logPath: filepath.Join(inst.root, "serve.log")}
	logFile, err := os.Create(srv.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the process has its own descriptor
	srv.cmd = inst.command("serve", "--http", addr)
	srv.cmd.Stdout, srv.cmd.Stderr = logFile, logFile
	if err := srv.cmd.Start(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	go func() {
		srv.err = srv.cmd.Wait()
		close(srv.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-srv.exited:
		default:
			_ = srv.cmd.Process.Kill()
			<-srv.exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(srv.logPath)
			t.Logf("serve output:\n%s", log)
		}
	})
	waitFor(t, startLimit, "serve to answer /api/health", func() bool {
		select {
		case <-srv.exited:
			t.Fatalf("serve exited before it answered /api/health: %v", srv.err)
		default:
		}
		resp, err := http.Get(srv.url + "/api/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return srv
}

// stop ends the server with SIGTERM, as a service manager would, and fails
// t unless it exits with status 0 within stopLimit.
func (srv *server) stop(t *testing.T) {
	t.Helper()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("send SIGTERM: %v", err)
	}
	select {
	case <-srv.exited:
	case <-time.After(stopLimit):
		t.Fatalf("serve did not exit within %s of SIGTERM", stopLimit)
	}
	if srv.err != nil {
		t.Fatalf("serve exited with %v after SIGTERM, want status 0", srv.err)
	}
}

// freeLoopbackAddr returns an address of 127.0.0.1 whose port was free a
// moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitFor polls done until it reports true, failing t if it has not within
// limit; what names the wait in the failure.
func waitFor(t *testing.T, limit time.Duration, what string, done func() bool) {
	t.Helper()
	testpoll.Until(t, limit, what, done)
}
