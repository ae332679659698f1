package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// results collects the outcomes of every run.
type results struct {
	values map[string]map[metric][]float64
	// notes per system key, deduplicated.
	notes map[string][]string
	// failed holds errors per system key and workload.
	failed map[string]map[workload]string
	// unavailable holds why a system cannot run here.
	unavailable map[string]string
}

func newResults() *results {
	return &results{
		values:      make(map[string]map[metric][]float64),
		notes:       make(map[string][]string),
		failed:      make(map[string]map[workload]string),
		unavailable: make(map[string]string),
	}
}

// add records the outcome of one measurement of the system key.
func (r *results) add(key string, o *outcome) {
	if r.values[key] == nil {
		r.values[key] = make(map[metric][]float64)
	}
	for m, v := range o.values {
		r.values[key][m] = append(r.values[key][m], v)
	}
	for _, n := range o.notes {
		if !slices.Contains(r.notes[key], n) {
			r.notes[key] = append(r.notes[key], n)
		}
	}
}

// fail records an error of one measurement.
func (r *results) fail(key string, w workload, msg string) {
	if r.failed[key] == nil {
		r.failed[key] = make(map[workload]string)
	}
	r.failed[key][w] = msg
}

// median returns the median of a metric over the runs; ratio metrics are
// the ratio of the medians of their parts.
func (r *results) median(key string, m metric) (float64, bool) {
	switch m {
	case mClaimRatio:
		return r.ratio(key, mClaimBig, mClaimEmpty)
	case mClaimForeignRatio:
		return r.ratio(key, mClaimForeign, mClaimEmpty)
	case mRSSRatio:
		return r.ratio(key, mRSSBig, mRSSSmall)
	}
	vs := r.values[key][m]
	if len(vs) == 0 {
		return 0, false
	}
	return median(vs), true
}

func (r *results) ratio(key string, num, den metric) (float64, bool) {
	a, okA := r.median(key, num)
	b, okB := r.median(key, den)
	if !okA || !okB || b == 0 {
		return 0, false
	}
	return a / b, true
}

// workloadOf tells which workload measures a metric.
func workloadOf(m metric) workload {
	switch m {
	case mEnqueue:
		return wEnqueue
	case mBatch:
		return wBatch
	case mWork:
		return wWork
	case mP50, mP95, mP99:
		return wPickup
	case mClaimEmpty, mClaimBig, mClaimRatio, mClaimForeign, mClaimForeignRatio:
		return wClaimCost
	default:
		return wRSS
	}
}

// isRatio tells whether a metric is a ratio of two others.
func isRatio(m metric) bool { return m == mClaimRatio || m == mClaimForeignRatio || m == mRSSRatio }

// isForeign tells whether a metric is measured on systems with foreign set
// only.
func isForeign(m metric) bool { return m == mClaimForeign || m == mClaimForeignRatio }

// label names a metric's row.
func label(m metric, p params) string {
	switch m {
	case mEnqueue:
		return "(a) enqueue, 1 job per call — jobs/s"
	case mBatch:
		return fmt.Sprintf("(b) enqueue, batches of %s — jobs/s", thousands(batchSize))
	case mWork:
		return fmt.Sprintf("(c) work %s no-op jobs, %d workers — jobs/s", thousands(p.n), workers)
	case mP50:
		return "(d) idle pickup p50 — ms"
	case mP95:
		return "(d) idle pickup p95 — ms"
	case mP99:
		return "(d) idle pickup p99 — ms"
	case mClaimEmpty:
		return fmt.Sprintf("(e) work %s jobs, no completed jobs — ms", thousands(p.claimJobs))
	case mClaimBig:
		return fmt.Sprintf("(e) work %s jobs, %s completed jobs — ms", thousands(p.claimJobs), thousands(p.big))
	case mClaimRatio:
		return "(e) claim cost ratio, completed / none"
	case mClaimForeign:
		return fmt.Sprintf("(e) work %s jobs, %s — ms", thousands(p.claimJobs), foreignBacklog.describe(p))
	case mClaimForeignRatio:
		return "(e) claim cost ratio, foreign / none"
	case mRSSSmall:
		return fmt.Sprintf("(f) peak RSS, %s pending — MiB", thousands(p.small))
	case mRSSBig:
		return fmt.Sprintf("(f) peak RSS, %s pending — MiB", thousands(p.big))
	default:
		return fmt.Sprintf("(f) RSS ratio, %s / %s pending", thousands(p.big), thousands(p.small))
	}
}

// unit names a metric's unit.
func unit(m metric) string {
	switch {
	case m == mEnqueue || m == mBatch || m == mWork:
		return "jobs/s"
	case m == mRSSSmall || m == mRSSBig:
		return "MiB"
	case isRatio(m):
		return "×"
	default:
		return "ms"
	}
}

// format prints a metric's value.
func format(m metric, v float64) string {
	switch {
	case m == mEnqueue || m == mBatch || m == mWork:
		return thousands(int(v + 0.5))
	case isRatio(m):
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return thousands(int(v + 0.5))
	}
}

// thousands prints n with thousands separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// describe summarises an outcome for the progress lines.
func (o *outcome) describe() string {
	var parts []string
	for m := metric(0); m < numMetrics; m++ {
		if v, ok := o.values[m]; ok {
			parts = append(parts, format(m, v)+" "+unit(m))
		}
	}
	if len(o.notes) > 0 {
		parts = append(parts, "† "+strings.Join(o.notes, "; "))
	}
	return strings.Join(parts, ", ")
}

// cell renders one system's figure for a metric, with ours ÷ it for peers.
func (r *results) cell(sys system, m metric) string {
	key := sys.key()
	if _, ok := r.unavailable[key]; ok {
		return "n/a"
	}
	w := workloadOf(m)
	if sys.skip[w] || (isForeign(m) && !sys.foreign) {
		return "—"
	}
	v, ok := r.median(key, m)
	if !ok {
		if r.failed[key][w] != "" {
			return "error"
		}
		return "—"
	}
	s := format(m, v)
	if r.hasNote(key, w) {
		s += " †"
	}
	if sys.id != "ours" && !isRatio(m) {
		if ours, ok := r.median(sys.db+"/ours", m); ok && v > 0 {
			s += fmt.Sprintf(" (%s×)", ratioText(ours/v))
		}
	}
	return s
}

// hasNote tells whether a note concerns the system's workload w.
func (r *results) hasNote(key string, w workload) bool {
	for _, n := range r.notes[key] {
		if strings.HasPrefix(n, w.String()) {
			return true
		}
	}
	return false
}

// ratioText prints a ratio: whole from 10 up, two decimals down to 0.1,
// two significant digits below.
func ratioText(x float64) string {
	switch {
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x >= 0.1:
		return strconv.FormatFloat(x, 'f', 2, 64)
	default:
		return strconv.FormatFloat(x, 'g', 2, 64)
	}
}

// report prints the whole markdown report.
func report(w io.Writer, o options, p params, e *env, selected []system, r *results) {
	fmt.Fprintf(w, "Command: `%s`\n\n", strings.TrimSpace("cd bench && go run . "+strings.Join(os.Args[1:], " ")))
	fmt.Fprintf(w, "- Machine: %s\n", machine())
	if v := e.postgresVersion(context.Background()); v != "" {
		fmt.Fprintf(w, "- %s\n", v)
	}
	fmt.Fprintf(w, "- Medians of %d run(s); every measurement on a fresh database. Sizes: (a) %s jobs, (b) and (c) %s jobs, "+
		"(d) %d jobs, (e) %s jobs, (f) %s and %s pending jobs.\n",
		o.runs, thousands(p.singles), thousands(p.n), p.pickups, thousands(p.claimJobs), thousands(p.small), thousands(p.big))
	fmt.Fprintf(w, "- `(r×)` after a peer's figure is ours ÷ that peer: above 1 is better for ours in jobs/s, "+
		"below 1 is better for ours in ms and MiB. `—`: not measured for that system (see the notes); "+
		"`n/a`: the system cannot run here; `†`: measured on part of the workload (see the notes).\n")

	for _, db := range []string{dbSQLite, dbPostgres} {
		var cols []system
		for _, s := range selected {
			if s.db == db {
				cols = append(cols, s)
			}
		}
		if len(cols) == 0 {
			continue
		}
		title := map[string]string{dbSQLite: "SQLite", dbPostgres: "PostgreSQL"}[db]
		fmt.Fprintf(w, "\n### %s\n\n| workload |", title)
		for _, s := range cols {
			fmt.Fprintf(w, " %s |", s.name)
		}
		fmt.Fprint(w, "\n|---|")
		for range cols {
			fmt.Fprint(w, "---:|")
		}
		fmt.Fprintln(w)
		for m := metric(0); m < numMetrics; m++ {
			fmt.Fprintf(w, "| %s |", label(m, p))
			for _, s := range cols {
				fmt.Fprintf(w, " %s |", r.cell(s, m))
			}
			fmt.Fprintln(w)
		}
	}
	reportTargets(w, selected, r)
	reportNotes(w, selected, r)
}

// goal is one performance target, checked on the medians.
type goal struct {
	text string
	db   string
	// check returns the figure as text and whether the goal is met.
	check func(r *results) (string, bool, bool)
}

// goals are the performance targets for ours with the default config.
func goals() []goal {
	atMost := func(key string, m metric, limit float64, unit string) func(*results) (string, bool, bool) {
		return func(r *results) (string, bool, bool) {
			v, ok := r.median(key, m)
			if !ok {
				return "", false, false
			}
			return format(m, v) + unit, v <= limit, true
		}
	}
	share := func(db string, m metric, peer string, least float64, asPercent bool) func(*results) (string, bool, bool) {
		return func(r *results) (string, bool, bool) {
			ours, okO := r.median(db+"/ours", m)
			other, okP := r.median(db+"/"+peer, m)
			if !okO || !okP || other == 0 {
				return "", false, false
			}
			x := ours / other
			fig := ratioText(x) + "×"
			if asPercent {
				fig = strconv.FormatFloat(100*x, 'f', 0, 64) + "%"
			}
			return fmt.Sprintf("%s (%s vs %s jobs/s)", fig, format(m, ours), format(m, other)), x >= least, true
		}
	}
	var gs []goal
	for _, db := range []string{dbSQLite, dbPostgres} {
		ours := db + "/ours"
		p50, workX, enqShare := 1.0, 10.0, 0.5
		if db == dbPostgres {
			p50, workX, enqShare = 2, 2, 0.7
		}
		gs = append(gs,
			goal{fmt.Sprintf("idle pickup p50 ≤ %g ms", p50), db, atMost(ours, mP50, p50, " ms")},
			goal{"idle pickup p99 ≤ 5 ms", db, atMost(ours, mP99, 5, " ms")},
			goal{fmt.Sprintf("work ≥ %g× River tuned", workX), db, share(db, mWork, "river-tuned", workX, false)},
			goal{"work ≥ 30% of the raw 100/stmt floor", db, share(db, mWork, "raw100", 0.3, true)},
			goal{fmt.Sprintf("enqueue 1 per call ≥ %g%% of the raw 1/stmt floor", enqShare*100), db, share(db, mEnqueue, "raw1", enqShare, true)},
			goal{"batch enqueue ≥ 2× River InsertManyFast", db, share(db, mBatch, "river", 2, false)},
			goal{"claim cost with completed jobs ≤ 1.5× empty", db, atMost(ours, mClaimRatio, 1.5, "×")},
			goal{"peak RSS with many pending within 20% of few pending", db, atMost(ours, mRSSRatio, 1.2, "×")},
		)
	}
	return gs
}

// reportTargets prints whether ours meets each goal.
func reportTargets(w io.Writer, selected []system, r *results) {
	fmt.Fprint(w, "\n### Targets\n\n| target | database | figure | met |\n|---|---|---|---|\n")
	for _, g := range goals() {
		if !slices.ContainsFunc(selected, func(s system) bool { return s.db == g.db && s.id == "ours" }) {
			continue
		}
		fig, met, ok := g.check(r)
		verdict := "no"
		switch {
		case !ok:
			fig, verdict = "n/a", "n/a"
		case met:
			verdict = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", g.text, g.db, fig, verdict)
	}
}

// reportNotes prints unavailable systems, partial measurements and errors.
func reportNotes(w io.Writer, selected []system, r *results) {
	var lines []string
	for _, s := range selected {
		key := s.key()
		prefix := fmt.Sprintf("%s on %s", s.name, s.db)
		if s.remark != "" {
			lines = append(lines, fmt.Sprintf("%s: %s", prefix, s.remark))
		}
		if reason := r.unavailable[key]; reason != "" {
			lines = append(lines, fmt.Sprintf("%s: n/a — %s", prefix, reason))
		}
		for _, n := range r.notes[key] {
			lines = append(lines, fmt.Sprintf("%s: † %s", prefix, n))
		}
		for wl := range r.failed[key] {
			lines = append(lines, fmt.Sprintf("%s: error — %s", prefix, r.failed[key][wl]))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprint(w, "\n### Notes\n\n")
	for _, l := range lines {
		fmt.Fprintf(w, "- %s\n", l)
	}
}
