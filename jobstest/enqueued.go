package jobstest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pocketbase-jobs/jobs"
)

// maxListed is the most jobs a failure message lists.
const maxListed = 20

// maxShownPayload is the most bytes of a payload a failure message shows.
const maxShownPayload = 200

// MatchOptions narrows RequireEnqueued and RequireNotEnqueued to jobs with
// these fields too; a zero field matches any job.
type MatchOptions struct {
	// Status is one of the jobs.Status* values.
	Status    string
	UniqueKey string
}

// Enqueued returns every job of topic, in every status, oldest first. It
// fails tb when the jobs cannot be read.
func Enqueued(tb testing.TB, store *jobs.JobStore, topic string) []*jobs.Job {
	tb.Helper()
	all, err := enqueued(store, topic)
	if err != nil {
		tb.Fatalf("jobstest: %v", err)
	}
	return all
}

// enqueued reads every job of topic, oldest first.
func enqueued(store *jobs.JobStore, topic string) ([]*jobs.Job, error) {
	var all []*jobs.Job
	for {
		page, err := store.List(&jobs.JobFilter{Topic: topic, Limit: jobs.MaxListLimit, Offset: len(all)})
		if err != nil {
			return nil, fmt.Errorf("list the jobs of topic %q: %w", topic, err)
		}
		all = append(all, page.Items...)
		if len(page.Items) < jobs.MaxListLimit {
			break
		}
	}
	slices.Reverse(all) // List is newest first
	return all, nil
}

// RequireEnqueued fails tb unless a job of topic has a payload with every
// member of payload (see below), and the fields opts names (nil opts
// matches any status and key). It returns the oldest such job. Its message
// lists the jobs of the topic and where each differs, or, when the topic
// has none, the topics that have jobs.
//
// The payload a job must have is given as the test would enqueue it: a
// value encoding/json encodes, or a json.RawMessage or []byte of JSON. It
// matches a job whose payload has each of its object members, with a
// matching value, at any depth: the job's objects may have more members.
// Arrays must have as many elements, each matching; numbers must be equal
// (1 equals 1.0); other values must be equal. A nil payload matches any
// job. Every field of a struct is compared, zero ones too unless tagged
// omitempty: use a map to name only some.
func RequireEnqueued(tb testing.TB, store *jobs.JobStore, topic string, payload any, opts *MatchOptions) *jobs.Job {
	tb.Helper()
	all, match, err := find(store, topic, payload, opts)
	if err != nil {
		tb.Fatalf("jobstest: %v", err)
		return nil
	}
	for i, m := range match {
		if m == "" {
			return all[i]
		}
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "jobstest: no job of topic %q matches %s", topic, wanted(payload, opts))
	if len(all) == 0 {
		msg.WriteString(": the topic has no job")
		msg.WriteString(otherTopics(store))
	} else {
		fmt.Fprintf(&msg, "; the topic's %s:", countJobs(len(all)))
		listJobs(&msg, all, match)
	}
	tb.Fatalf("%s", msg.String())
	return nil
}

// RequireNotEnqueued fails tb if a job of topic matches payload and opts,
// as RequireEnqueued matches them, listing the jobs that do.
func RequireNotEnqueued(tb testing.TB, store *jobs.JobStore, topic string, payload any, opts *MatchOptions) {
	tb.Helper()
	all, match, err := find(store, topic, payload, opts)
	if err != nil {
		tb.Fatalf("jobstest: %v", err)
		return
	}
	var matching []*jobs.Job
	for i, m := range match {
		if m == "" {
			matching = append(matching, all[i])
		}
	}
	if len(matching) == 0 {
		return
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "jobstest: want no job of topic %q matching %s, found %s:",
		topic, wanted(payload, opts), countJobs(len(matching)))
	listJobs(&msg, matching, make([]string, len(matching)))
	tb.Fatalf("%s", msg.String())
}

// find reads the jobs of topic and returns, for each, "" when it matches
// payload and opts, or else where it differs.
func find(store *jobs.JobStore, topic string, payload any, opts *MatchOptions) ([]*jobs.Job, []string, error) {
	var want any
	if payload != nil {
		data, err := encodeWant(payload)
		if err != nil {
			return nil, nil, err
		}
		if want, err = decodeJSON(data); err != nil {
			return nil, nil, fmt.Errorf("decode the expected payload: %w", err)
		}
	}
	all, err := enqueued(store, topic)
	if err != nil {
		return nil, nil, err
	}
	match := make([]string, len(all))
	for i, job := range all {
		match[i], err = differs(job, want, opts)
		if err != nil {
			return nil, nil, err
		}
	}
	return all, match, nil
}

// differs returns "" when job matches want (a decoded payload, or nil for
// any) and opts, or else where it differs.
func differs(job *jobs.Job, want any, opts *MatchOptions) (string, error) {
	if opts != nil && opts.Status != "" && job.Status != opts.Status {
		return fmt.Sprintf("status is %s, want %s", job.Status, opts.Status), nil
	}
	if opts != nil && opts.UniqueKey != "" && job.UniqueKey != opts.UniqueKey {
		return fmt.Sprintf("unique key is %q, want %q", job.UniqueKey, opts.UniqueKey), nil
	}
	if want == nil {
		return "", nil
	}
	got, err := decodeJSON(job.Payload)
	if err != nil {
		return "", fmt.Errorf("decode the payload of job %s: %w", job.ID, err)
	}
	return mismatch(want, got, ""), nil
}

// wanted describes what a job must have, for a message.
func wanted(payload any, opts *MatchOptions) string {
	var parts []string
	if payload == nil {
		parts = append(parts, "any payload")
	} else if data, err := encodeWant(payload); err == nil {
		parts = append(parts, string(data))
	}
	if opts != nil && opts.Status != "" {
		parts = append(parts, "status "+opts.Status)
	}
	if opts != nil && opts.UniqueKey != "" {
		parts = append(parts, fmt.Sprintf("unique key %q", opts.UniqueKey))
	}
	return strings.Join(parts, ", ")
}

// listJobs writes one line per job (at most maxListed): its id, status and
// payload, and why it does not match when why[i] says.
func listJobs(msg *strings.Builder, all []*jobs.Job, why []string) {
	for i, job := range all {
		if i == maxListed {
			fmt.Fprintf(msg, "\n\t… and %d more", len(all)-maxListed)
			return
		}
		payload := string(job.Payload)
		if len(payload) > maxShownPayload {
			payload = payload[:maxShownPayload] + "…"
		}
		fmt.Fprintf(msg, "\n\t%s %s %s", job.ID, job.Status, payload)
		if why[i] != "" {
			fmt.Fprintf(msg, ": %s", why[i])
		}
	}
}

// otherTopics names the topics that have jobs, for a message about one
// that has none: a misspelt topic shows there.
func otherTopics(store *jobs.JobStore) string {
	topics, err := store.Topics()
	if err != nil {
		return ""
	}
	var named []string
	for _, t := range topics {
		if t.Total > 0 {
			named = append(named, fmt.Sprintf("%q (%s)", t.Topic, countJobs(int(t.Total))))
		}
	}
	if len(named) == 0 {
		return "; no topic has jobs"
	}
	return "; topics with jobs: " + strings.Join(named, ", ")
}

// countJobs is "1 job" or "n jobs".
func countJobs(n int) string {
	if n == 1 {
		return "1 job"
	}
	return fmt.Sprintf("%d jobs", n)
}
