package drivertest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// tick records the tick at of the schedule name with job, fails t on
// error, and tells whether it was recorded.
func tick(t *testing.T, d driver.Driver, name string, at time.Time, job driver.InsertParams) bool {
	t.Helper()
	ticked, err := d.Tick(t.Context(), driver.TickParams{Name: name, Tick: at, Job: job})
	if err != nil {
		t.Fatalf("Tick(%s, %v): %v", name, at, err)
	}
	return ticked
}

// wantLastTicks fails t unless LastTicks returns want.
func wantLastTicks(t *testing.T, d driver.Driver, want map[string]time.Time) {
	t.Helper()
	got, err := d.LastTicks(t.Context())
	if err != nil {
		t.Fatalf("LastTicks: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("LastTicks = %v, want %v", got, want)
	}
	for name, at := range want {
		wantTime(t, "last tick of "+name, got[name], at)
	}
}

// testTickOncePerTick: a tick of a schedule is recorded, with its job,
// once: the same tick again, or an earlier one, records nothing and
// inserts no job; a later tick, or a tick of another schedule, is
// recorded. LastTicks returns the last tick of each schedule.
func testTickOncePerTick(t *testing.T, s *suite) {
	d := s.open(t)
	wantLastTicks(t, d, map[string]time.Time{})
	first, later := t0.Add(time.Hour), t0.Add(2*time.Hour)
	cases := []struct {
		name string
		at   time.Time
		id   string
		want bool
	}{
		{"nightly", first, "first", true},
		{"nightly", first, "first-again", false},
		{"nightly", t0, "earlier", false},
		{"nightly", later, "later", true},
		{"nightly", first, "first-after-later", false},
		{"hourly", first, "hourly", true},
	}
	for _, c := range cases {
		job := topicJob(c.id, c.name, c.at)
		if got := tick(t, d, c.name, c.at, job); got != c.want {
			t.Fatalf("Tick(%s, %v) of job %s = %v, want %v", c.name, c.at, c.id, got, c.want)
		}
		stored, err := d.Get(t.Context(), driver.GetParams{ID: c.id})
		if c.want {
			if err != nil {
				t.Fatalf("Get of the job of a recorded tick: %v", err)
			}
			wantRow(t, "job of a recorded tick", stored, job.PendingRow())
		} else {
			wantErr(t, "Get of the job of a refused tick", err, driver.ErrNotFound)
		}
	}
	wantLastTicks(t, d, map[string]time.Time{"nightly": later, "hourly": first})
}

// testTickOfAHeldKey: a tick whose job's unique key is held is recorded,
// and inserts no job; its job keeps the priority and key it was given.
func testTickOfAHeldKey(t *testing.T, s *suite) {
	d := s.open(t)
	job := prioritized("report", "report", 3, t0)
	job.UniqueKey = "report"
	if !tick(t, d, "report", t0, job) {
		t.Fatal("first tick not recorded")
	}
	wantRow(t, "job of the first tick", get(t, d, "report"), job.PendingRow())
	next := job
	next.ID = "report-next"
	if !tick(t, d, "report", t0.Add(time.Hour), next) {
		t.Fatal("tick with a held key not recorded")
	}
	_, err := d.Get(t.Context(), driver.GetParams{ID: "report-next"})
	wantErr(t, "Get of the job of a tick whose key is held", err, driver.ErrNotFound)
	wantLastTicks(t, d, map[string]time.Time{"report": t0.Add(time.Hour)})
	wantStats(t, d, driver.Stats{Pending: 1})
}

// testTickConcurrently: of 20 concurrent ticks of one schedule at one
// time, one is recorded and inserts its job.
func testTickConcurrently(t *testing.T, s *suite) {
	d := s.open(t)
	const tickers = 20
	var (
		wg     sync.WaitGroup
		ticked = make([]bool, tickers)
		errs   = make([]error, tickers)
	)
	for i := range tickers {
		wg.Go(func() {
			ticked[i], errs[i] = d.Tick(t.Context(), driver.TickParams{Name: "s", Tick: t0,
				Job: topicJob(fmt.Sprint("job", i), "s", t0)})
		})
	}
	wg.Wait()
	recorded := 0
	for i := range tickers {
		if errs[i] != nil {
			t.Fatalf("concurrent Tick: %v", errs[i])
		}
		if ticked[i] {
			recorded++
			get(t, d, fmt.Sprint("job", i))
		}
	}
	if recorded != 1 {
		t.Fatalf("%d of %d concurrent ticks recorded, want 1", recorded, tickers)
	}
	wantStats(t, d, driver.Stats{Pending: 1})
	wantLastTicks(t, d, map[string]time.Time{"s": t0})
}
