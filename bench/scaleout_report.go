package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// reportScaleOut prints the scale-out measurements: one row per process
// count and run, then the medians over the runs.
func reportScaleOut(w io.Writer, e *env, sp scaleParams, outcomes [][]*scaleOutcome) {
	fmt.Fprintf(w, "Command: `%s`\n\n", strings.TrimSpace("cd bench && go run . "+strings.Join(os.Args[1:], " ")))
	fmt.Fprintf(w, "- Machine: %s; load average at the end: %s\n", machine(), loadAverage())
	if v := e.postgresVersion(context.Background()); v != "" {
		fmt.Fprintf(w, "- %s\n", v)
	}
	fmt.Fprintf(w, "- Every process: a PocketBase app with the plugin (`Workers: %d`, other settings default) on one "+
		"database, a no-op handler; %s jobs enqueued before the processes start; then %d single enqueues, 5–20 ms "+
		"apart, into the idle processes.\n\n", workers, thousands(sp.jobs), sp.pickups)

	fmt.Fprintln(w, "| processes | run | jobs/s | pickup p50 / p99 — ms | peak connections, workers / database | claims (jobs per claim) | jobs per process, min – max | each listener, backlog: wake-ups, changes/s (KiB/s) | each listener, per pickup: wake-ups, changes | duplicates |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for r, row := range outcomes {
		for _, o := range row {
			b, p := o.backlogNotes, o.pickupNotes
			fmt.Fprintf(w, "| %d | %d | %s | %.2f / %.2f | %d / %d | %s (%.1f) | %s – %s | %d, %.1f/s (%.1f KiB/s) | %.2f, %.2f | %d |\n",
				o.processes, r+1, thousands(int(o.jobsPerSec+0.5)), ms(o.p50), ms(o.p99), o.workerConns, o.dbConns,
				thousands(o.claims), float64(sp.jobs)/float64(max(o.claims, 1)),
				thousands(o.minShare), thousands(o.maxShare),
				b.wakeups, float64(b.changes)/o.backlogSeconds, float64(b.changeBytes)/1024/o.backlogSeconds,
				float64(p.wakeups)/float64(sp.pickups), float64(p.changes)/float64(sp.pickups), o.duplicates)
		}
	}
	if len(outcomes) < 2 {
		return
	}
	fmt.Fprintf(w, "\nMedians of %d runs:\n\n", len(outcomes))
	fmt.Fprintln(w, "| processes × workers | jobs/s | pickup p50 / p99 — ms | peak connections, workers / database | jobs per claim | duplicates |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for i, n := range sp.counts {
		pick := func(f func(*scaleOutcome) float64) float64 {
			var vs []float64
			for _, row := range outcomes {
				vs = append(vs, f(row[i]))
			}
			return median(vs)
		}
		fmt.Fprintf(w, "| %d × %d | %s | %.2f / %.2f | %.0f / %.0f | %.1f | %.0f |\n", n, workers,
			thousands(int(pick(func(o *scaleOutcome) float64 { return o.jobsPerSec })+0.5)),
			pick(func(o *scaleOutcome) float64 { return ms(o.p50) }),
			pick(func(o *scaleOutcome) float64 { return ms(o.p99) }),
			pick(func(o *scaleOutcome) float64 { return float64(o.workerConns) }),
			pick(func(o *scaleOutcome) float64 { return float64(o.dbConns) }),
			pick(func(o *scaleOutcome) float64 { return float64(sp.jobs) / float64(max(o.claims, 1)) }),
			pick(func(o *scaleOutcome) float64 { return float64(o.duplicates) }))
	}
}

// median returns the median of vs.
func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// loadAverage returns the 1, 5 and 15 minute load averages of this machine.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}
