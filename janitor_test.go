package jobs

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/service"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// loggedApp is an app whose Logger records what the plugin logs.
type loggedApp struct {
	core.App
	log *logRecorder
}

// Logger implements core.App.
func (a loggedApp) Logger() *slog.Logger { return slog.New(a.log) }

// logRecorder is a slog.Handler that keeps every record; safe for
// concurrent use.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

// has tells whether a record's message holds every part.
func (h *logRecorder) has(parts ...string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		found := true
		for _, p := range parts {
			found = found && strings.Contains(r.Message, p)
		}
		if found {
			return true
		}
	}
	return false
}

// values returns the values of the attribute key of the records at level
// that have it, in the order they were logged.
func (h *logRecorder) values(level slog.Level, key string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var values []string
	for _, r := range h.records {
		if r.Level != level {
			continue
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				values = append(values, a.Value.String())
				return false
			}
			return true
		})
	}
	return values
}

// count returns how many records at level have the attribute key = value.
func (h *logRecorder) count(level slog.Level, key, value string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if r.Level != level {
			continue
		}
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key && a.Value.String() == value {
				n++
				return false
			}
			return true
		})
	}
	return n
}

// TestUnhandledTopicIsWarnedOnce: jobs that have waited longer than
// service.UnhandledWarnAfter for a topic with no handler here are warned of, once
// per topic however often the janitor looks; waiting jobs of a handled
// topic, and recent jobs of an unhandled one, are not.
func TestUnhandledTopicIsWarnedOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app, err := tests.NewTestApp()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(app.Cleanup)
		cfg := testConfig()
		cfg.Retention = 10 * cfg.PollInterval // the janitor looks every poll
		b.configure(t, &cfg)
		log := &logRecorder{}
		if err := Register(loggedApp{App: app, log: log}, cfg); err != nil {
			t.Fatal(err)
		}
		store := GetJobStore(app)
		longAgo := time.Now().Add(-2 * service.UnhandledWarnAfter)
		mustEnqueue(t, store, "orphan", nil, &JobEnqueueOptions{RunAt: longAgo})
		mustEnqueue(t, store, "recent", nil, nil)
		handled := mustEnqueue(t, store, "handled", nil, &JobEnqueueOptions{RunAt: longAgo})
		block := make(chan struct{})
		defer close(block)
		if err := store.Register("handled", func(*Job) error { <-block; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := store.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "a warning about topic orphan", func() bool {
			return log.count(slog.LevelWarn, "topic", "orphan") > 0
		})
		// A second orphan topic is warned of by a later round.
		mustEnqueue(t, store, "orphan2", nil, &JobEnqueueOptions{RunAt: longAgo})
		waitFor(t, 10*time.Second, "a warning about topic orphan2", func() bool {
			return log.count(slog.LevelWarn, "topic", "orphan2") > 0
		})
		if n := log.count(slog.LevelWarn, "topic", "orphan"); n != 1 {
			t.Fatalf("topic orphan was warned of %d times, want once", n)
		}
		for _, topic := range []string{"recent", "handled"} {
			if n := log.count(slog.LevelWarn, "topic", topic); n != 0 {
				t.Fatalf("topic %s was warned of %d times, want never", topic, n)
			}
		}
		waitStatus(t, store, handled.ID, StatusProcessing)
	})
}
