package jobscmd

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pocketbase-jobs/jobs"
)

// lastErrorWidth is the most characters of a last error a table shows.
const lastErrorWidth = 50

// writeJSON writes v as the HTTP API answers it: encoding/json's encoder,
// one line.
func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// table is an aligned table being written to an io.Writer.
type table struct {
	tw *tabwriter.Writer
}

// newTable starts a table on w with the column headers.
func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(headers...)
	return t
}

// row adds one row; each value must already be a cell (see cell).
func (t *table) row(values ...string) {
	fmt.Fprintln(t.tw, strings.Join(values, "\t"))
}

// flush writes the table out.
func (t *table) flush() error {
	return t.tw.Flush()
}

// writeJob writes one job as "field: value" lines, named as in its JSON.
func writeJob(w io.Writer, job *jobs.Job) error {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)}
	t.row("id:", cell(job.ID))
	t.row("topic:", cell(job.Topic))
	t.row("status:", job.Status)
	t.row("payload:", cell(string(job.Payload)))
	t.row("run_at:", fullTime(job.RunAt))
	t.row("retries:", fmt.Sprintf("%d of %d", job.Retries, job.MaxRetries))
	t.row("attempts:", strconv.Itoa(job.Attempts))
	t.row("last_error:", cell(job.LastError))
	if !job.LockedUntil.IsZero() {
		t.row("locked_until:", fullTime(job.LockedUntil))
	}
	t.row("priority:", strconv.Itoa(job.Priority))
	t.row("unique_key:", cell(job.UniqueKey))
	t.row("created:", fullTime(job.Created))
	t.row("updated:", fullTime(job.Updated))
	if job.Duplicate {
		t.row("duplicate:", "true (a job in flight has this unique key; nothing was enqueued)")
	}
	return t.flush()
}

// writeJobList writes a page of jobs as a table, with a line saying which
// of the matching jobs it shows.
func writeJobList(w io.Writer, list *jobs.JobList) error {
	if len(list.Items) == 0 {
		_, err := fmt.Fprintf(w, "no jobs (%d match, offset %d)\n", list.Total, list.Offset)
		return err
	}
	t := newTable(w, "ID", "TOPIC", "STATUS", "PRIORITY", "ATTEMPTS", "RETRIES", "RUN AT", "LAST ERROR")
	for _, job := range list.Items {
		t.row(cell(job.ID), cell(job.Topic), job.Status, strconv.Itoa(job.Priority), strconv.Itoa(job.Attempts),
			fmt.Sprintf("%d/%d", job.Retries, job.MaxRetries), shortTime(job.RunAt),
			cell(truncate(job.LastError, lastErrorWidth)))
	}
	if err := t.flush(); err != nil {
		return err
	}
	first := list.Offset + 1
	_, err := fmt.Fprintf(w, "jobs %d-%d of %d, newest first\n", first, list.Offset+len(list.Items), list.Total)
	return err
}

// writeStats writes the counts per status as "status: count" lines.
func writeStats(w io.Writer, stats *jobs.JobStats) error {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)}
	for _, c := range statusCounts(*stats) {
		t.row(c.name+":", strconv.FormatInt(c.count, 10))
	}
	return t.flush()
}

// writeTopics writes topics as a table.
func writeTopics(w io.Writer, topics []jobs.TopicInfo) error {
	if len(topics) == 0 {
		_, err := fmt.Fprintln(w, "no topics")
		return err
	}
	headers := []string{"TOPIC"}
	for _, c := range statusCounts(jobs.JobStats{}) {
		headers = append(headers, strings.ToUpper(c.name))
	}
	t := newTable(w, append(headers, "PAUSED", "HANDLER")...)
	for _, topic := range topics {
		values := []string{cell(topic.Topic)}
		for _, c := range statusCounts(topic.JobStats) {
			values = append(values, strconv.FormatInt(c.count, 10))
		}
		t.row(append(values, yesNo(topic.Paused), yesNo(topic.HasHandler))...)
	}
	return t.flush()
}

// writeSchedules writes schedules as a table.
func writeSchedules(w io.Writer, schedules []jobs.ScheduleInfo) error {
	if len(schedules) == 0 {
		_, err := fmt.Fprintln(w, "no schedules declared by the app's code")
		return err
	}
	t := newTable(w, "NAME", "CRON", "TOPIC", "NEXT RUN", "LAST RUN", "PAYLOAD")
	for _, s := range schedules {
		t.row(cell(s.Name), cell(s.Cron), cell(s.Topic), shortTime(s.NextRun), shortTime(s.LastRun),
			cell(string(s.Payload)))
	}
	return t.flush()
}

// statusCount is one count of JobStats, named as in its JSON.
type statusCount struct {
	name  string
	count int64
}

// statusCounts lists the counts of stats in the order of its JSON.
func statusCounts(stats jobs.JobStats) []statusCount {
	return []statusCount{
		{jobs.StatusPending, stats.Pending},
		{jobs.StatusProcessing, stats.Processing},
		{jobs.StatusCompleted, stats.Completed},
		{jobs.StatusFailed, stats.Failed},
		{jobs.StatusCancelled, stats.Cancelled},
		{"total", stats.Total},
	}
}

// fullTime formats t as a job's JSON does (RFC 3339 in UTC, with its
// fraction of a second), or "-" for the zero time.
func fullTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// shortTime formats t in RFC 3339 in UTC to the second, or "-" for the
// zero time.
func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// yesNo formats b for a table.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// truncate shortens s to at most n characters, ending with "…" when it cut.
func truncate(s string, n int) string {
	runes := []rune(s)
	if len(runes) <= n {
		return s
	}
	return string(runes[:n-1]) + "…"
}

// cell makes text that came from the job database (a topic, an error, a
// payload) safe to print: characters that are not printable (a newline or
// tab in an error, an escape sequence in a topic) are written as Go escapes,
// so they can neither break a table's layout nor drive the terminal.
func cell(s string) string {
	if strings.IndexFunc(s, notPrintable) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if notPrintable(r) {
			quoted := strconv.QuoteRune(r)
			b.WriteString(quoted[1 : len(quoted)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// notPrintable tells the characters cell escapes: those that are not
// printable, and utf8.RuneError, which also stands for a byte that is not
// UTF-8.
func notPrintable(r rune) bool {
	return !unicode.IsPrint(r) || r == utf8.RuneError
}
