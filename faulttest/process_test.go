//go:build unix

package faulttest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Time limits of worker processes.
const (
	startLimit = 60 * time.Second // from exec to a healthy HTTP server
	exitLimit  = 30 * time.Second // from a signal to the end of the process
	tailBytes  = 8 << 10          // output shown when a test fails
)

// node is one worker installation: a binary, a pb_data directory, a loopback
// address and an environment. It is started again after every death, like a
// service under a supervisor.
type node struct {
	t       *testing.T
	bin     string
	dir     string // pb_data
	addr    string // 127.0.0.1:PORT
	env     []string
	execLog string
	// output collects the stdout and stderr of every process of the node.
	output string
}

// newNode prepares a node on backend b that runs bin with env (PB_JOBS_* and
// FAULT_* assignments) over a clean environment. Its output is shown when t
// fails.
func newNode(t *testing.T, bin string, b backend, env ...string) *node {
	t.Helper()
	root := t.TempDir()
	n := &node{
		t:       t,
		bin:     bin,
		dir:     filepath.Join(root, "pb_data"),
		addr:    freeLoopbackAddr(t),
		execLog: filepath.Join(root, "executions.log"),
		output:  filepath.Join(root, "output.log"),
	}
	n.env = append(cleanEnv(), "FAULT_EXEC_LOG="+n.execLog)
	n.env = append(n.env, b.env...)
	n.env = append(n.env, env...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker output (last %d bytes):\n%s", tailBytes, n.outputTail())
		}
	})
	return n
}

// cleanEnv is this process's environment without PB_JOBS_* and FAULT_*
// variables, so that only the test configures the worker.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PB_JOBS_") && !strings.HasPrefix(kv, "FAULT_") {
			env = append(env, kv)
		}
	}
	return env
}

// freeLoopbackAddr returns a loopback address whose port is free now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("free port %s: %v", addr, err)
	}
	return addr
}

// url returns the address of path on the node's HTTP server.
func (n *node) url(path string) string { return "http://" + n.addr + path }

// command returns the worker command with args, its environment extended
// by env, writing to the node's output.
func (n *node) command(out *os.File, env []string, args ...string) *exec.Cmd {
	// --dev=false: PocketBase takes a binary in a temporary directory for
	// "go run" and would otherwise print every SQL statement.
	cmd := exec.Command(n.bin, append(args, "--dir", n.dir, "--dev=false")...)
	cmd.Env = append(append([]string{}, n.env...), env...)
	cmd.Stdout, cmd.Stderr = out, out
	return cmd
}

// openOutput opens the node's output file for appending.
func (n *node) openOutput() *os.File {
	n.t.Helper()
	f, err := os.OpenFile(n.output, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		n.t.Fatalf("open the worker output: %v", err)
	}
	return f
}

// outputTail returns the end of the node's output.
func (n *node) outputTail() string {
	data, err := os.ReadFile(n.output)
	if err != nil {
		return fmt.Sprintf("(cannot read the output: %v)", err)
	}
	if len(data) > tailBytes {
		data = data[len(data)-tailBytes:]
	}
	return string(data)
}

// run runs a worker CLI command (e.g. "superuser", "upsert", ...) to its end.
func (n *node) run(args ...string) {
	n.t.Helper()
	out := n.openOutput()
	defer out.Close()
	cmd := n.command(out, nil, args...)
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start worker %v: %v", args, err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			n.t.Fatalf("worker %v: %v", args, err)
		}
	case <-time.After(exitLimit):
		cmd.Process.Kill()
		<-done
		n.t.Fatalf("worker %v did not end within %s", args, exitLimit)
	}
}

// createSuperuser creates (or updates) a superuser with the worker's CLI,
// which must not run any job.
func (n *node) createSuperuser(email, password string) {
	n.t.Helper()
	n.run("superuser", "upsert", email, password)
}

// process is one running worker process.
type process struct {
	t   *testing.T
	cmd *exec.Cmd
	// done is closed when the process has ended; err is its exit status.
	done chan struct{}
	err  error
}

// start starts a serving worker with env added to the node's, and waits
// until its HTTP server answers. The process is killed when t ends, if it
// is still running.
func (n *node) start(env ...string) *process {
	n.t.Helper()
	out := n.openOutput()
	cmd := n.command(out, env, "serve", "--http", n.addr)
	if err := cmd.Start(); err != nil {
		out.Close()
		n.t.Fatalf("start the worker: %v", err)
	}
	p := &process{t: n.t, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	n.t.Cleanup(p.stop)
	n.awaitHealthy(p)
	return p
}

// awaitHealthy waits until the node's server answers its health check, and
// fails the test if p ends first.
func (n *node) awaitHealthy(p *process) {
	n.t.Helper()
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	deadline := time.NewTimer(startLimit)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		resp, err := client.Get(n.url("/api/health"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			n.t.Fatalf("the worker ended before serving: %v", p.err)
		case <-deadline.C:
			n.t.Fatalf("the worker did not serve within %s (last error: %v)", startLimit, err)
		case <-tick.C:
		}
	}
}

// pid returns the process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// kill ends the process with SIGKILL, as a crash or an OOM kill would, and
// waits until it is gone.
func (p *process) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.t.Fatalf("kill the worker: %v", err)
	}
	p.wait()
}

// terminate sends SIGTERM, as a service manager stopping the app would, and
// returns how long the process took to end. It fails the test unless the
// process exits cleanly.
func (p *process) terminate() time.Duration {
	p.t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("send SIGTERM to the worker: %v", err)
	}
	p.wait()
	elapsed := time.Since(start)
	if p.err != nil {
		p.t.Fatalf("the worker did not exit cleanly on SIGTERM: %v", p.err)
	}
	return elapsed
}

// wait waits until the process has ended, failing the test after exitLimit.
func (p *process) wait() {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(exitLimit):
		p.t.Fatalf("the worker did not end within %s", exitLimit)
	}
}

// stop kills the process unless it has ended, and reaps it.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// exitedBy tells whether the process ended with signal sig.
func (p *process) exitedBy(sig syscall.Signal) bool {
	var exitErr *exec.ExitError
	if !errors.As(p.err, &exitErr) {
		return false
	}
	status, ok := exitErr.Sys().(syscall.WaitStatus)
	return ok && status.Signaled() && status.Signal() == sig
}
