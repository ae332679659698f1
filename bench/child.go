package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// child is this program run again in another mode (a scale-out worker, a
// host-app server), talked to over its standard input and output: the
// parent writes commands and closes stdin to ask it to finish; the child
// answers line by line.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Scanner
}

// startChild runs this program again with args, its standard error the
// parent's; what names it in errors.
func startChild(ctx context.Context, what string, args ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", what, err)
	}
	return &child{cmd: cmd, stdin: stdin, stdout: bufio.NewScanner(stdout)}, nil
}

// kill ends the child at once, if it has not ended, and waits for it.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.stdin.Close()
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// stdinLines returns the lines of this process's standard input, read by a
// goroutine that ends, closing the channel, when stdin ends: when the
// parent closes it, or when this process exits.
func stdinLines() <-chan string {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// waitForEnd returns when lines is closed or ctx ends.
func waitForEnd(ctx context.Context, lines <-chan string) {
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
