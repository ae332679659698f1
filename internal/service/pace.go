package service

import "time"

// A claim or a batch of outcomes that took long waited for the database:
// on SQLite, its one writer was busy with the app's own writes. The next
// one then waits in its turn, paceFactor times as long as the last took,
// at most maxPace, so that a busy writer gets fewer, larger claims and
// batches from the queue, while an idle one, whose calls take a fraction
// of a millisecond, still sees each job claimed at once.
const (
	paceFactor = 4
	maxPace    = 20 * time.Millisecond
)

// paceAfter is how long to wait, after a call that took took, before the
// next call of its kind.
func paceAfter(took time.Duration) time.Duration {
	return min(paceFactor*took, maxPace)
}
