package jobs

import (
	"encoding/json"
	"testing"
	"time"
)

// setClock sets the clock of store's plugin to read at now.
func setClock(store *JobStore, at time.Time) {
	store.p.clock.Shift(time.Until(at))
}

// countJobs returns the number of jobs of topic.
func countJobs(t *testing.T, store *JobStore, topic string) int64 {
	t.Helper()
	list, err := store.List(&JobFilter{Topic: topic, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return list.Total
}

// TestScheduleEnqueuesOneJobPerTick: processes declaring one schedule —
// two on one PostgreSQL, one on SQLite — enqueue one job at each tick,
// driven by shifting their clocks past the ticks.
func TestScheduleEnqueuesOneJobPerTick(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		b.configure(t, &cfg)
		shared := backend{name: b.name, configure: func(testing.TB, *Config) {}}
		processes := 1
		if b.name == "postgres" {
			processes = 2
		}
		start := time.Date(2031, 3, 4, 5, 6, 30, 0, time.UTC) // mid-minute
		stores := make([]*JobStore, processes)
		for i := range stores {
			stores[i] = GetJobStore(newApp(t, shared, cfg))
			setClock(stores[i], start)
			if err := stores[i].Schedule("digest", "* * * * *", "digest", map[string]string{"kind": "daily"}); err != nil {
				t.Fatalf("Schedule: %v", err)
			}
			if err := stores[i].Start(); err != nil {
				t.Fatal(err)
			}
		}
		// A few polls at the start: a new schedule waits for its next tick.
		settle := time.Now().Add(10 * cfg.PollInterval)
		waitFor(t, 5*time.Second, "a few polls", func() bool { return time.Now().After(settle) })
		if n := countJobs(t, stores[0], "digest"); n != 0 {
			t.Fatalf("%d jobs before the first tick", n)
		}
		for tick := 1; tick <= 3; tick++ {
			for _, s := range stores {
				setClock(s, start.Add(time.Duration(tick)*time.Minute))
			}
			waitFor(t, 10*time.Second, "the job of the tick", func() bool { return countJobs(t, stores[0], "digest") >= int64(tick) })
			settle := time.Now().Add(10 * cfg.PollInterval)
			waitFor(t, 5*time.Second, "a few polls", func() bool { return time.Now().After(settle) })
			if n := countJobs(t, stores[0], "digest"); n != int64(tick) {
				t.Fatalf("after %d ticks, %d jobs", tick, n)
			}
		}
		list, err := stores[0].List(&JobFilter{Topic: "digest", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if string(list.Items[0].Payload) != `{"kind":"daily"}` {
			t.Fatalf("the scheduled job's payload is %s", list.Items[0].Payload)
		}
		infos, err := stores[0].Schedules()
		if err != nil {
			t.Fatal(err)
		}
		want := ScheduleInfo{
			Name: "digest", Cron: "* * * * *", Topic: "digest", Payload: json.RawMessage(`{"kind":"daily"}`),
			LastRun: start.Add(3 * time.Minute).Truncate(time.Minute),
			NextRun: start.Add(4 * time.Minute).Truncate(time.Minute),
		}
		if len(infos) != 1 || infos[0].Name != want.Name || infos[0].Cron != want.Cron || infos[0].Topic != want.Topic ||
			string(infos[0].Payload) != string(want.Payload) || !infos[0].LastRun.Equal(want.LastRun) || !infos[0].NextRun.Equal(want.NextRun) {
			t.Fatalf("Schedules() = %+v, want %+v", infos, want)
		}
	})
}

// TestScheduleCatchesUpOnceAfterDowntime: ticks missed while no process
// ran enqueue one job when the dispatcher starts again, not one per tick.
func TestScheduleCatchesUpOnceAfterDowntime(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		cfg := testConfig()
		store := GetJobStore(newApp(t, b, cfg))
		start := time.Date(2031, 3, 4, 5, 6, 30, 0, time.UTC)
		setClock(store, start)
		if err := store.Schedule("sweep", "*/5 * * * *", "sweep", nil); err != nil {
			t.Fatal(err)
		}
		if err := store.Start(); err != nil {
			t.Fatal(err)
		}
		// A few polls at 05:06:30 first: the new schedule starts from there.
		settle := time.Now().Add(10 * cfg.PollInterval)
		waitFor(t, 5*time.Second, "a few polls", func() bool { return time.Now().After(settle) })
		setClock(store, start.Add(4*time.Minute)) // 05:10:30, past the 05:10 tick
		waitFor(t, 10*time.Second, "the first tick's job", func() bool { return countJobs(t, store, "sweep") == 1 })
		if err := store.Stop(); err != nil {
			t.Fatal(err)
		}
		setClock(store, start.Add(2*time.Hour)) // 24 ticks missed
		if err := store.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the catch-up job", func() bool { return countJobs(t, store, "sweep") >= 2 })
		settle = time.Now().Add(10 * cfg.PollInterval)
		waitFor(t, 5*time.Second, "a few polls", func() bool { return time.Now().After(settle) })
		if n := countJobs(t, store, "sweep"); n != 2 {
			t.Fatalf("%d jobs after the downtime, want one catch-up job", n-1)
		}
		infos, err := store.Schedules()
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2031, 3, 4, 7, 5, 0, 0, time.UTC); len(infos) != 1 || !infos[0].LastRun.Equal(want) {
			t.Fatalf("Schedules() = %+v, want the last run at %s", infos, want)
		}
	})
}

func TestScheduleRefusesBadInput(t *testing.T) {
	store := GetJobStore(newApp(t, backends[0], testConfig()))
	expectErr(t, store.Schedule("x", "61 * * * *", "t", nil), ErrInvalidSchedule)
	expectErr(t, store.Schedule("x", "every minute", "t", nil), ErrInvalidSchedule)
	expectErr(t, store.Schedule(" ", "@hourly", "t", nil), ErrInvalidSchedule)
	expectErr(t, store.Schedule("x", "@hourly", "", nil), ErrEmptyTopic)
	expectErr(t, store.Schedule("x", "@hourly", "t", func() {}), ErrInvalidPayload)
	expectErr(t, store.Unschedule("x"), ErrScheduleNotFound)
	if err := store.Schedule("x", "@hourly", "t", nil); err != nil {
		t.Fatal(err)
	}
	if err := store.Schedule("x", "@daily", "t", nil); err != nil {
		t.Fatalf("declaring a name again: %v", err)
	}
	infos, err := store.Schedules()
	if err != nil || len(infos) != 1 || infos[0].Cron != "@daily" {
		t.Fatalf("Schedules() = %+v, %v; want x replaced by @daily", infos, err)
	}
	if err := store.Unschedule("x"); err != nil {
		t.Fatal(err)
	}
	if infos, err := store.Schedules(); err != nil || len(infos) != 0 {
		t.Fatalf("Schedules() after Unschedule = %+v, %v", infos, err)
	}
}
