// Command bench compares pocketbase-jobs with its peers — River (default and
// tuned) on SQLite and PostgreSQL, goqite on SQLite, and raw-SQL floors — on
// fresh databases, and prints a markdown table of the medians of its runs.
//
// Usage:
//
//	cd bench && go run . [-runs 3] [-n 20000] [-only sqlite|postgres] [-systems ours,…] [-workloads c,e]
//	cd bench && go run . -scaleout 1,2,4 [-runs 2] [-scaleout-jobs 50000]
//	cd bench && go run . -hostapp [-runs 3] [-hostapp-clients 10,50] [-hostapp-duration 20s] [-hostapp-configs a,b,c,d,e,f]
//
// With -scaleout it measures pocketbase-jobs alone, as several worker
// processes (this program run again) on one PostgreSQL database. With
// -hostapp it measures what the plugin costs a PocketBase app on SQLite
// that serves record creates and lists over HTTP, the app being this
// program run again.
//
// PostgreSQL is a throwaway cluster started with initdb and pg_ctl from PATH
// or /usr/lib/postgresql/*/bin (as the postgres user when run as root), or
// the server named by PB_JOBS_BENCH_POSTGRES_DSN, whose role must be allowed
// to create databases.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags of a run.
type options struct {
	runs       int
	only       string
	systems    string
	workloads  string
	cpuProfile string
	params     params
	// scaleOut is -scaleout: when set, the run measures scale-out alone.
	scaleOut string
	scale    scaleParams
	// hostApp is -hostapp: when set, the run measures the host app alone.
	hostApp bool
	host    hostParams
}

func main() {
	var (
		o         options
		child     string
		childDir  string
		childDSN  string
		worker    string
		workerDSN string
		hostDir   string
		hostID    string
		hostCount string
		hostCfgs  string
		hostProf  string
	)
	flag.IntVar(&o.runs, "runs", 3, "runs of every measurement; the table shows medians")
	flag.IntVar(&o.params.n, "n", 20000, "jobs per batch-enqueue and work measurement; the other sizes follow from it")
	flag.StringVar(&o.only, "only", "", "run one database only: sqlite or postgres")
	flag.StringVar(&o.systems, "systems", "", "comma-separated system ids to run (ours, river, river-tuned, goqite, raw1, raw100); default all")
	flag.StringVar(&o.workloads, "workloads", "", "comma-separated workload letters to run (a to f); default all")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write CPU profiles of ours working jobs (c) in the first run to FILE-sqlite.prof and FILE-postgres.prof; with -hostapp, of each host-app server under load in the first run to FILE-hostapp-<config>-<clients>.prof")
	flag.DurationVar(&o.params.limit, "limit", 15*time.Second, "longest timed loop; a slower system is measured on what it did by then")
	flag.DurationVar(&o.params.pickupLimit, "pickup-limit", 15*time.Second, "longest idle-pickup measurement")
	flag.DurationVar(&o.params.hold, "rss-hold", 3*time.Second, "how long an RSS child holds its jobs")
	flag.StringVar(&o.scaleOut, "scaleout", "", "measure scale-out alone: comma-separated numbers of worker processes on one PostgreSQL, e.g. 1,2,4")
	flag.IntVar(&o.scale.jobs, "scaleout-jobs", 50000, "jobs the scale-out workers work")
	flag.IntVar(&o.scale.pickups, "scaleout-pickups", 200, "single enqueues that time the scale-out pickup")
	flag.DurationVar(&o.scale.limit, "scaleout-limit", 5*time.Minute, "longest wait for the scale-out backlog, and for its pickups")
	flag.BoolVar(&o.hostApp, "hostapp", false, "measure the cost to a PocketBase app on SQLite alone: record creates and lists over HTTP, with and without jobs")
	flag.StringVar(&hostCount, "hostapp-clients", "10,50", "comma-separated numbers of concurrent clients of the host app")
	flag.DurationVar(&o.host.duration, "hostapp-duration", 20*time.Second, "how long the clients load the host app in each measurement")
	flag.StringVar(&hostCfgs, "hostapp-configs", "a,b,c,d,e,f", "comma-separated host-app configurations to measure, starting with a (plugin off)")
	flag.StringVar(&child, "rss-child", "", "internal: run as the RSS child of this system key")
	flag.StringVar(&childDir, "rss-dir", "", "internal: the RSS child's SQLite directory")
	flag.StringVar(&childDSN, "rss-dsn", "", "internal: the RSS child's PostgreSQL DSN")
	flag.StringVar(&worker, "scaleout-worker", "", "internal: run as a scale-out worker with its PocketBase app in this directory")
	flag.StringVar(&workerDSN, "scaleout-dsn", "", "internal: the scale-out worker's PostgreSQL DSN")
	flag.StringVar(&hostDir, "hostapp-server", "", "internal: run as the host-app server with its data in this directory")
	flag.StringVar(&hostID, "hostapp-config", "", "internal: the host-app server's configuration letter")
	flag.StringVar(&hostProf, "hostapp-cpuprofile", "", "internal: the host-app server's CPU profile under load")
	flag.Parse()

	// The plugin reads PB_JOBS_* over its code config: every system runs
	// with its defaults, whatever this shell has set.
	clearPluginEnv()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch {
	case child != "":
		err = childRSS(ctx, child, target{dir: childDir, dsn: childDSN}, o.params.hold)
	case worker != "":
		err = scaleWorker(ctx, worker, workerDSN)
	case hostDir != "":
		var cfg hostConfig
		if cfg, err = findHostConfig(hostID); err == nil {
			err = hostServer(ctx, hostDir, cfg, hostProf)
		}
	case o.hostApp:
		o.host.clients, err = parseCounts("hostapp-clients", hostCount)
		if err == nil {
			o.host.configs, err = parseHostConfigs(hostCfgs)
		}
		if err == nil {
			o.host.cpuProfile = o.cpuProfile
			err = runHostApp(ctx, o.runs, o.host)
		}
	case o.scaleOut != "":
		if o.scale.counts, err = parseCounts("scaleout", o.scaleOut); err == nil {
			err = runScaleOut(ctx, o.runs, o.scale)
		}
	default:
		err = run(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// clearPluginEnv unsets every PB_JOBS_* variable but the benchmark's own.
func clearPluginEnv() {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PB_JOBS_") && name != envPostgresDSN {
			os.Unsetenv(name)
		}
	}
}

// run measures every selected system on every selected database and prints
// the report to stdout; progress goes to stderr.
func run(ctx context.Context, o options) error {
	if o.runs < 1 || o.params.n < batchSize {
		return fmt.Errorf("need -runs ≥ 1 and -n ≥ %d", batchSize)
	}
	if o.only != "" && o.only != dbSQLite && o.only != dbPostgres {
		return fmt.Errorf("-only must be %s or %s", dbSQLite, dbPostgres)
	}
	p := o.params
	p.singles = p.n / 4
	p.pickups = 200
	p.claimJobs = batchSize
	p.small = batchSize
	p.big = 5 * p.n

	selected, err := selectSystems(o)
	if err != nil {
		return err
	}
	wanted, err := selectWorkloads(o)
	if err != nil {
		return err
	}
	e, err := newEnv(ctx, needsPostgres(selected))
	if err != nil {
		return err
	}
	defer e.closeWarning()

	res := newResults()
	began := time.Now()
	for r := 1; r <= o.runs; r++ {
		for _, sys := range selected {
			if reason := res.unavailable[sys.key()]; reason != "" {
				continue
			}
			profile := ""
			if r == 1 && sys.id == "ours" && o.cpuProfile != "" {
				profile = o.cpuProfile + "-" + sys.db + ".prof"
			}
			if err := measureSystem(ctx, e, sys, p, wanted, r, o.runs, profile, res); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(os.Stderr, "done in %s\n", time.Since(began).Round(time.Second))
	report(os.Stdout, o, p, e, selected, res)
	return nil
}

// selectSystems applies -only and -systems.
func selectSystems(o options) ([]system, error) {
	var ids []string
	if o.systems != "" {
		ids = strings.Split(o.systems, ",")
	}
	var out []system
	for _, s := range systems() {
		if (o.only == "" || s.db == o.only) && (ids == nil || slices.Contains(ids, s.id)) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no system selected")
	}
	return out, nil
}

// selectWorkloads applies -workloads: it returns the set of workloads to
// run, all of them by default.
func selectWorkloads(o options) (map[workload]bool, error) {
	wanted := make(map[workload]bool)
	byLetter := make(map[string]workload)
	for w := range numWorkloads {
		wanted[w] = o.workloads == ""
		byLetter[w.letter()] = w
	}
	if o.workloads == "" {
		return wanted, nil
	}
	for _, letter := range strings.Split(o.workloads, ",") {
		w, ok := byLetter[strings.TrimSpace(letter)]
		if !ok {
			return nil, fmt.Errorf("-workloads: no workload %q (use letters a to %s)", letter, (numWorkloads - 1).letter())
		}
		wanted[w] = true
	}
	return wanted, nil
}

func needsPostgres(ss []system) bool {
	return slices.ContainsFunc(ss, func(s system) bool { return s.db == dbPostgres })
}

// measureSystem runs every wanted workload of sys once and records the
// outcomes. A system that cannot run here is recorded as unavailable; an
// error of one measurement is recorded and reported, and the others go on.
func measureSystem(ctx context.Context, e *env, sys system, p params, wanted map[workload]bool, r, runs int, profile string, res *results) error {
	type step struct {
		w       workload
		label   string
		measure func() (*outcome, error)
	}
	steps := []step{
		{wEnqueue, fmt.Sprintf("enqueue %d, 1 per call", p.singles), func() (*outcome, error) { return measureEnqueue(ctx, e, sys, p) }},
		{wBatch, fmt.Sprintf("enqueue %d in batches of %d", p.n, batchSize), func() (*outcome, error) { return measureBatch(ctx, e, sys, p) }},
		{wWork, fmt.Sprintf("work %d", p.n), func() (*outcome, error) { return measureWork(ctx, e, sys, p, profile) }},
		{wPickup, fmt.Sprintf("idle pickup ×%d", p.pickups), func() (*outcome, error) { return measurePickup(ctx, e, sys, p) }},
		{wClaimCost, "claim cost, " + noBacklog.describe(p), func() (*outcome, error) { return measureClaimCost(ctx, e, sys, p, noBacklog) }},
		{wClaimCost, "claim cost, " + completedBacklog.describe(p), func() (*outcome, error) { return measureClaimCost(ctx, e, sys, p, completedBacklog) }},
	}
	if sys.foreign {
		steps = append(steps, step{wClaimCost, "claim cost, " + foreignBacklog.describe(p),
			func() (*outcome, error) { return measureClaimCost(ctx, e, sys, p, foreignBacklog) }})
	}
	steps = append(steps,
		step{wRSS, fmt.Sprintf("peak RSS, %d pending", p.small), func() (*outcome, error) { return measureRSS(ctx, e, sys, p, p.small) }},
		step{wRSS, fmt.Sprintf("peak RSS, %d pending", p.big), func() (*outcome, error) { return measureRSS(ctx, e, sys, p, p.big) }},
	)
	for _, s := range steps {
		// Peak RSS barely varies between runs: measured in the first only.
		if !wanted[s.w] || sys.skip[s.w] || (s.w == wRSS && r > 1) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		begin := time.Now()
		fmt.Fprintf(os.Stderr, "run %d/%d  %-8s %-18s %-42s ", r, runs, sys.db, sys.name, s.label)
		o, err := s.measure()
		var unavailable unavailableError
		switch {
		case errors.As(err, &unavailable):
			fmt.Fprintf(os.Stderr, "n/a: %v\n", err)
			res.unavailable[sys.key()] = err.Error()
			return nil
		case err != nil && ctx.Err() != nil:
			fmt.Fprintln(os.Stderr, "interrupted")
			return ctx.Err()
		case err != nil:
			fmt.Fprintf(os.Stderr, "error: %v\n", err)
			res.fail(sys.key(), s.w, fmt.Sprintf("%s: %s: %v", sys.key(), s.label, err))
			continue
		}
		fmt.Fprintf(os.Stderr, "%s  (%s)\n", o.describe(), time.Since(begin).Round(10*time.Millisecond))
		res.add(sys.key(), o)
	}
	return nil
}
