package driver

import "time"

// WaitingTopic is a topic with pending jobs that have been runnable since
// Oldest (the earliest run_at among them).
type WaitingTopic struct {
	Topic  string
	Oldest time.Time
}

// WaitingParams selects the topics whose oldest pending job has been
// runnable since RunnableSince or earlier.
type WaitingParams struct {
	RunnableSince time.Time
}
