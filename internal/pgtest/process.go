package pgtest

import (
	"os/exec"
	"runtime"
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
