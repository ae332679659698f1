package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// hostParams sizes the host-app measurement.
type hostParams struct {
	// clients are the numbers of concurrent clients to measure, in order.
	clients []int
	// duration is how long the clients load the app in each measurement.
	duration time.Duration
	// configs are the configurations to measure, in order; the first is the
	// one the others are compared with.
	configs []hostConfig
	// cpuProfile, when set, is the prefix of the CPU profiles of the first
	// run's servers under load.
	cpuProfile string
}

// hostConfig is one way the host app runs its jobs.
type hostConfig struct {
	// id is the configuration's letter, as -hostapp-configs names it.
	id   string
	name string
	// disabled and dispatcherOff set PB_JOBS_DISABLED and
	// PB_JOBS_AUTO_START=false.
	disabled, dispatcherOff bool
	// writeBack makes the handler save its post with done set; otherwise
	// the handler does nothing.
	writeBack bool
	// inTx enqueues inside a transaction the record's execute hook opens
	// for the insert (the README's pattern) instead of after the record is
	// stored (OnRecordAfterCreateSuccess).
	inTx bool
	// workers, when set, is PB_JOBS_WORKERS and PB_JOBS_BATCH_SIZE.
	workers int
}

// hostConfigs are the configurations of the host-app measurement; the
// first, plugin off, is the baseline of the ratios. The default set
// (-hostapp-configs) leaves out the last, (g), which combines (c) and (e).
func hostConfigs() []hostConfig {
	return []hostConfig{
		{id: "a", name: "plugin off (PB_JOBS_DISABLED=true)", disabled: true},
		{id: "b", name: "no-op handler"},
		{id: "c", name: "write-back handler", writeBack: true},
		{id: "d", name: "enqueue only (PB_JOBS_AUTO_START=false)", dispatcherOff: true},
		{id: "e", name: "enqueue in the record's transaction, no-op handler", inTx: true},
		{id: "f", name: "no-op handler, 50 workers, claims of up to 50", workers: 50},
		{id: "g", name: "enqueue in the record's transaction, write-back handler", inTx: true, writeBack: true},
	}
}

// env is the PB_JOBS_* environment of the configuration's server.
func (c hostConfig) env() map[string]string {
	env := make(map[string]string)
	if c.disabled {
		env["PB_JOBS_DISABLED"] = "true"
	}
	if c.dispatcherOff {
		env["PB_JOBS_AUTO_START"] = "false"
	}
	if c.workers > 0 {
		env["PB_JOBS_WORKERS"] = strconv.Itoa(c.workers)
		env["PB_JOBS_BATCH_SIZE"] = strconv.Itoa(c.workers)
	}
	return env
}

// findHostConfig returns the configuration of letter id.
func findHostConfig(id string) (hostConfig, error) {
	for _, c := range hostConfigs() {
		if c.id == id {
			return c, nil
		}
	}
	return hostConfig{}, fmt.Errorf("no host-app configuration %q (use letters a to g)", id)
}

// parseHostConfigs reads -hostapp-configs: comma-separated letters, which
// must start with a, the baseline.
func parseHostConfigs(s string) ([]hostConfig, error) {
	var out []hostConfig
	for _, id := range strings.Split(s, ",") {
		c, err := findHostConfig(strings.TrimSpace(id))
		if err != nil {
			return nil, fmt.Errorf("-hostapp-configs: %w", err)
		}
		out = append(out, c)
	}
	if out[0].id != "a" {
		return nil, fmt.Errorf("-hostapp-configs must start with a, the baseline of the ratios")
	}
	return out, nil
}

// hostOutcome is what one host-app measurement found.
type hostOutcome struct {
	seconds float64
	// creates and lists count the 2xx responses of each request kind;
	// errors counts the other responses and the failed requests.
	creates, lists, errors int
	// busyResponses counts error responses whose body mentions a busy
	// database; busyLogs counts the server's log entries that do.
	busyResponses, busyLogs int
	// createP50 and createP99 are the latencies of the successful creates.
	createP50, createP99 time.Duration
	// cpuPerCreate is the server's CPU time (user and system) over the
	// load, divided by the successful creates.
	cpuPerCreate time.Duration
	// jobsTotal and jobsCompleted are the server's jobs when the load ended.
	jobsTotal, jobsCompleted int64
}

// runHostApp measures every configuration at every client count in each of
// runs and prints the report to stdout; progress goes to stderr.
func runHostApp(ctx context.Context, runs int, hp hostParams) error {
	if runs < 1 || hp.duration <= 0 {
		return fmt.Errorf("need -runs ≥ 1 and -hostapp-duration > 0")
	}
	e, err := newEnv(ctx, false)
	if err != nil {
		return err
	}
	defer e.closeWarning()
	began := time.Now()
	loadBefore := loadAverage()
	// outcomes[run][client count][configuration]; configurations alternate
	// within a run, so that the machine's drift touches them alike.
	outcomes := make([][][]*hostOutcome, runs)
	for r := range runs {
		outcomes[r] = make([][]*hostOutcome, len(hp.clients))
		for ci, clients := range hp.clients {
			for _, cfg := range hp.configs {
				fmt.Fprintf(os.Stderr, "run %d/%d  host app, %2d clients, %-52s ", r+1, runs, clients, cfg.name)
				profile := ""
				if r == 0 && hp.cpuProfile != "" {
					profile = fmt.Sprintf("%s-hostapp-%s-%d.prof", hp.cpuProfile, cfg.id, clients)
				}
				o, err := measureHostApp(ctx, e, cfg, clients, hp.duration, profile)
				if err != nil {
					fmt.Fprintln(os.Stderr, "error")
					return fmt.Errorf("host app, %d clients, %s: %w", clients, cfg.name, err)
				}
				fmt.Fprintf(os.Stderr, "%.0f creates/s, p99 %.1f ms, %d errors\n",
					float64(o.creates)/o.seconds, ms(o.createP99), o.errors)
				outcomes[r][ci] = append(outcomes[r][ci], o)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "done in %s\n", time.Since(began).Round(time.Second))
	reportHostApp(os.Stdout, hp, runs, outcomes, loadBefore, loadAverage())
	return nil
}

// measureHostApp starts the host app of cfg on a fresh data directory,
// loads it with clients for d, and stops it; with a profile file, the
// server writes its CPU profile under load there.
func measureHostApp(ctx context.Context, e *env, cfg hostConfig, clients int, d time.Duration, profile string) (*hostOutcome, error) {
	t, cleanup, err := e.fresh(ctx, dbSQLite)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	srv, err := startHostServer(ctx, t.dir, cfg, profile)
	if err != nil {
		return nil, err
	}
	defer srv.kill()

	cpuBefore, err := cpuTime(srv.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	o, err := loadHostApp(ctx, "http://"+srv.addr, clients, d)
	if err != nil {
		return nil, err
	}
	cpuAfter, err := cpuTime(srv.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	if o.creates > 0 {
		o.cpuPerCreate = (cpuAfter - cpuBefore) / time.Duration(o.creates)
	}
	if err := srv.finish(o); err != nil {
		return nil, err
	}
	return o, nil
}

// hostProcess is a host-app server as the parent sees it.
type hostProcess struct {
	*child
	// addr is where the server listens.
	addr string
}

// startHostServer runs this program again as the host-app server of cfg
// in dir, and waits until it serves.
func startHostServer(ctx context.Context, dir string, cfg hostConfig, profile string) (*hostProcess, error) {
	c, err := startChild(ctx, "the host app", "-hostapp-server", dir, "-hostapp-config", cfg.id, "-hostapp-cpuprofile", profile)
	if err != nil {
		return nil, err
	}
	p := &hostProcess{child: c}
	if !p.stdout.Scan() {
		p.kill()
		return nil, fmt.Errorf("the host app did not start: %v", p.stdout.Err())
	}
	word, addr, _ := strings.Cut(p.stdout.Text(), " ")
	if word != hostReady || addr == "" {
		p.kill()
		return nil, fmt.Errorf("the host app did not get ready: %q", p.stdout.Text())
	}
	p.addr = addr
	return p, nil
}

// finish stops the server and adds what it reports — its jobs and its busy
// log entries — to o.
func (p *hostProcess) finish(o *hostOutcome) error {
	if err := p.stdin.Close(); err != nil {
		return err
	}
	seen := 0
	for p.stdout.Scan() {
		f := strings.Fields(p.stdout.Text())
		var err error
		switch {
		case len(f) == 3 && f[0] == hostJobs:
			o.jobsTotal, err = strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				o.jobsCompleted, err = strconv.ParseInt(f[2], 10, 64)
			}
		case len(f) == 2 && f[0] == hostBusy:
			o.busyLogs, err = strconv.Atoi(f[1])
		default:
			err = fmt.Errorf("unexpected host-app output %q", p.stdout.Text())
		}
		if err != nil {
			return err
		}
		seen++
	}
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("host app: %w", err)
	}
	if seen != 2 {
		return fmt.Errorf("the host app reported %d of its 2 lines", seen)
	}
	return p.stdout.Err()
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's times
// (100 on every Linux platform Go runs on).
const clockTicks = 100

// cpuTime returns the user and system CPU time process pid has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the host app's CPU time: %w", err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU returns utime + stime of a /proc/<pid>/stat line. The
// command name, in parentheses, may hold spaces and parentheses: the fields
// after its last ") " start with the state (field 3), and utime and stime
// are fields 14 and 15.
func parseStatCPU(line string) (time.Duration, error) {
	i := strings.LastIndex(line, ") ")
	if i < 0 {
		return 0, fmt.Errorf("read the host app's CPU time: no command name in %q", line)
	}
	f := strings.Fields(line[i+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("read the host app's CPU time: short stat line %q", line)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("read the host app's CPU time: %w", err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
