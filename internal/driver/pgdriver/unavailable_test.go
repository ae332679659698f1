package pgdriver_test

import (
	"errors"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

// TestAStoppedServerIsUnavailable: while the server is down, the calls the
// store makes fail with ErrUnavailable (an HTTP 503, to retry), not with a
// bare connection error; once it is back, they succeed again.
func TestAStoppedServerIsUnavailable(t *testing.T) {
	srv := pgtest.StartRestartable(t)
	d := openMigrated(t, srv.DSN())
	now := time.Now()
	job := func(id string) []driver.InsertParams {
		return []driver.InsertParams{{ID: id, Topic: "t", Payload: []byte(`1`), RunAt: now, Now: now}}
	}
	if _, err := d.Insert(t.Context(), job("before")); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	srv.Stop("fast")
	calls := map[string]func() error{
		"Insert": func() error { _, err := d.Insert(t.Context(), job("during")); return err },
		"Get":    func() error { _, err := d.Get(t.Context(), driver.GetParams{ID: "before"}); return err },
		"List": func() error {
			_, _, err := d.List(t.Context(), driver.ListParams{Limit: 10})
			return err
		},
		"Stats":  func() error { _, err := d.Stats(t.Context()); return err },
		"Cancel": func() error { _, err := d.Cancel(t.Context(), driver.CancelParams{ID: "before", Now: now}); return err },
		"SetPaused": func() error {
			return d.SetPaused(t.Context(), driver.PauseParams{Topic: "t", Paused: true, Now: now})
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, driver.ErrUnavailable) {
			t.Errorf("%s while the server is down: %v, want ErrUnavailable", name, err)
		}
	}
	srv.Start()
	if _, err := d.Insert(t.Context(), job("after")); err != nil {
		t.Fatalf("Insert once the server is back: %v", err)
	}
}
