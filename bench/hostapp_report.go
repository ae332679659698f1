package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// reportHostApp prints the host-app measurements: per client count, one row
// per configuration with the medians over the runs, and its ratios to the
// first configuration taken within each run.
func reportHostApp(w io.Writer, hp hostParams, runs int, outcomes [][][]*hostOutcome, loadBefore, loadAfter string) {
	fmt.Fprintf(w, "Command: `%s`\n\n", strings.TrimSpace("cd bench && go run . "+strings.Join(os.Args[1:], " ")))
	fmt.Fprintf(w, "- Machine: %s; load average (1, 5, 15 min) before: %s, after: %s\n", machine(), loadBefore, loadAfter)
	fmt.Fprintf(w, "- %d run(s) of %s per configuration and client count; medians; ratios to (%s) within each run, "+
		"then their median; errors and busy counts are totals over the runs.\n\n", runs, hp.duration, hp.configs[0].id)
	for ci, clients := range hp.clients {
		fmt.Fprintf(w, "**%d clients**\n\n", clients)
		fmt.Fprintln(w, "| configuration | creates/s | lists/s | requests/s (ratio) | create p50 — ms (ratio) | create p99 — ms (ratio) | server CPU per create — ms | errors | SQLITE_BUSY: responses / log entries | jobs completed / enqueued at the end |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for k, cfg := range hp.configs {
			pick := func(f func(o, base *hostOutcome) float64) float64 {
				vs := make([]float64, runs)
				for r := range runs {
					vs[r] = f(outcomes[r][ci][k], outcomes[r][ci][0])
				}
				return median(vs)
			}
			sum := func(f func(o *hostOutcome) int) int {
				n := 0
				for r := range runs {
					n += f(outcomes[r][ci][k])
				}
				return n
			}
			throughput := func(o *hostOutcome) float64 { return float64(o.creates+o.lists) / o.seconds }
			jobs := "—"
			if !cfg.disabled {
				jobs = fmt.Sprintf("%s / %s",
					thousands(int(pick(func(o, _ *hostOutcome) float64 { return float64(o.jobsCompleted) }))),
					thousands(int(pick(func(o, _ *hostOutcome) float64 { return float64(o.jobsTotal) }))))
			}
			fmt.Fprintf(w, "| (%s) %s | %s | %s | %s (%.2f×) | %.1f (%.2f×) | %.1f (%.2f×) | %.2f | %d | %d / %d | %s |\n",
				cfg.id, cfg.name,
				thousands(int(pick(func(o, _ *hostOutcome) float64 { return float64(o.creates) / o.seconds })+0.5)),
				thousands(int(pick(func(o, _ *hostOutcome) float64 { return float64(o.lists) / o.seconds })+0.5)),
				thousands(int(pick(func(o, _ *hostOutcome) float64 { return throughput(o) })+0.5)),
				pick(func(o, base *hostOutcome) float64 { return throughput(o) / throughput(base) }),
				pick(func(o, _ *hostOutcome) float64 { return ms(o.createP50) }),
				pick(func(o, base *hostOutcome) float64 { return float64(o.createP50) / float64(base.createP50) }),
				pick(func(o, _ *hostOutcome) float64 { return ms(o.createP99) }),
				pick(func(o, base *hostOutcome) float64 { return float64(o.createP99) / float64(base.createP99) }),
				pick(func(o, _ *hostOutcome) float64 { return ms(o.cpuPerCreate) }),
				sum(func(o *hostOutcome) int { return o.errors }),
				sum(func(o *hostOutcome) int { return o.busyResponses }),
				sum(func(o *hostOutcome) int { return o.busyLogs }),
				jobs)
		}
		fmt.Fprintln(w)
	}
}
