package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// The superuser the tests sign in as.
const (
	superuserEmail    = "admin@example.com"
	superuserPassword = "pass-1234567890"
)

// startTimeout bounds the wait for the test app to answer /api/health.
const startTimeout = 30 * time.Second

// stopTimeout bounds the wait for the test app to exit after SIGTERM,
// before it is killed.
const stopTimeout = 15 * time.Second

// testServer is a running test app (./testapp) with a superuser.
type testServer struct {
	url     string    // base URL, http://127.0.0.1:PORT
	token   string    // the superuser's auth token
	cmd     *exec.Cmd // the serve process
	exited  chan struct{}
	logPath string // the process's stdout and stderr
}

// buildTestApp compiles ./testapp into dir and returns the binary's path.
func buildTestApp(dir string) (string, error) {
	bin := filepath.Join(dir, "testapp")
	out, err := exec.Command("go", "build", "-o", bin, "./testapp").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build ./testapp: %w\n%s", err, out)
	}
	return bin, nil
}

// startServer creates the superuser in dataDir, serves the test app on a
// free port of 127.0.0.1 with its output in dataDir/serve.log, waits until
// it answers /api/health and signs the superuser in.
func startServer(bin, dataDir string) (*testServer, error) {
	out, err := exec.Command(bin, "superuser", "upsert", superuserEmail, superuserPassword, "--dir", dataDir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("superuser upsert: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &testServer{url: "http://" + addr, exited: make(chan struct{}), logPath: filepath.Join(dataDir, "serve.log")}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor
	s.cmd = exec.Command(bin, "serve", "--http", addr, "--dir", dataDir)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	go func() {
		_ = s.cmd.Wait() // its exit status is the log's business
		close(s.exited)
	}()
	if err := s.waitHealthy(); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\n%s", err, s.logTail())
	}
	if s.token, err = signInOverHTTP(s.url); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHealthy polls /api/health until it answers 200, the process exits or
// startTimeout passes.
func (s *testServer) waitHealthy() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/health", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return errors.New("the test app exited before it answered /api/health")
		case <-ctx.Done():
			return fmt.Errorf("the test app did not answer /api/health within %s", startTimeout)
		case <-tick.C:
		}
	}
}

// stop ends the test app with SIGTERM, or kills it when it has not exited
// within stopTimeout.
func (s *testServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// logTail returns the last few KiB of the test app's output.
func (s *testServer) logTail() string {
	const tail = 8 << 10
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > tail {
		b = b[len(b)-tail:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}
