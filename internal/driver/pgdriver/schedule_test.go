package pgdriver_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/pgtest"
)

// TestTickOnceAcrossProcesses: of ticks of one schedule at one time by two
// drivers on one database, each with its own pool, as two processes have,
// one is recorded and inserts its job.
func TestTickOnceAcrossProcesses(t *testing.T) {
	dsn := pgtest.DSN(t)
	processes := []driver.Driver{openMigrated(t, dsn), open(t, dsn)}
	const tickersEach = 10
	at := time.Date(2031, 5, 6, 7, 0, 0, 0, time.UTC)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		ticked []string
		errs   []error
	)
	for p, d := range processes {
		for i := range tickersEach {
			id := fmt.Sprintf("p%d-%d", p, i)
			wg.Go(func() {
				ok, err := d.Tick(t.Context(), driver.TickParams{Name: "nightly", Tick: at,
					Job: driver.InsertParams{ID: id, Topic: "report", Payload: []byte(`{}`), RunAt: at, Now: at}})
				mu.Lock()
				defer mu.Unlock()
				if ok {
					ticked = append(ticked, id)
				}
				if err != nil {
					errs = append(errs, err)
				}
			})
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("Tick: %v", errs)
	}
	if len(ticked) != 1 {
		t.Fatalf("ticks recorded by %v, want one", ticked)
	}
	st, err := processes[1].Stats(t.Context())
	if err != nil || st != (driver.Stats{Pending: 1}) {
		t.Fatalf("Stats = %+v, %v; want the one job of the recorded tick", st, err)
	}
	if _, err := processes[1].Get(t.Context(), driver.GetParams{ID: ticked[0]}); err != nil {
		t.Fatalf("Get of the job of the recorded tick: %v", err)
	}
}
