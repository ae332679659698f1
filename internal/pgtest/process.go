package pgtest

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// launch starts cmd from a goroutine locked to its own OS thread and
// returns a channel closed when the process has ended (at once when it did
// not start). The parent-death signal of cmd fires when the thread that
// started the process ends, so that thread must live exactly as long as the
// process: the goroutine waits for it and only then lets its thread go.
func launch(cmd *exec.Cmd) (exited chan struct{}, err error) {
	started := make(chan error, 1)
	exited = make(chan struct{})
	go func() {
		defer close(exited)
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait() // the exit status of a process told to stop says nothing
	}()
	return exited, <-started
}

// terminate asks the process of cmd (started by launch, exited its
// channel) to end with sig, kills it when it lingers past stopLimit, and
// returns once it has ended. A process that never started, or has ended,
// is left as it is.
func terminate(cmd *exec.Cmd, exited <-chan struct{}, sig syscall.Signal) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(sig) // fails only when it has just exited
	select {
	case <-exited:
	case <-time.After(stopLimit):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// logTail returns the end of the log file at path, for error messages; what
// names the program that writes it.
func logTail(path, what string) string {
	out, err := os.ReadFile(path)
	if err != nil {
		return "(no " + what + " log: " + err.Error() + ")"
	}
	const keep = 4000
	if len(out) > keep {
		out = out[len(out)-keep:]
	}
	return string(out)
}
