package jobs

import (
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/tools/cron"
)

// TestCronSearchAgreesWithIsDue checks nextTick and lastTick against a
// minute-by-minute walk with PocketBase's own IsDue, for expressions of
// every kind, around a month boundary.
func TestCronSearchAgreesWithIsDue(t *testing.T) {
	from := time.Date(2030, 2, 27, 22, 47, 30, 0, time.UTC)
	for _, expr := range []string{"* * * * *", "*/7 * * * *", "5 * * * *", "30 23 * * *", "0 0 1 * *", "15 9 * * 1-5", "@hourly", "0 12 29 2 *"} {
		s, err := cron.NewSchedule(expr)
		if err != nil {
			t.Fatal(err)
		}
		var walked []time.Time
		for m := from.Truncate(time.Minute).Add(time.Minute); m.Before(from.Add(72 * time.Hour)); m = m.Add(time.Minute) {
			if s.IsDue(cron.NewMoment(m)) {
				walked = append(walked, m)
			}
		}
		after := from
		for _, want := range walked {
			got, ok := nextTick(s, after)
			if !ok || !got.Equal(want) {
				t.Fatalf("%q: nextTick(%s) = %s, %v; want %s", expr, after, got, ok, want)
			}
			after = got
		}
		until := from.Add(72*time.Hour - time.Second)
		for i := len(walked) - 1; i >= 0; i-- {
			got, ok := lastTick(s, from, until)
			if !ok || !got.Equal(walked[i]) {
				t.Fatalf("%q: lastTick(%s, %s) = %s, %v; want %s", expr, from, until, got, ok, walked[i])
			}
			until = got.Add(-time.Second)
		}
		if got, ok := lastTick(s, from, until); ok {
			t.Fatalf("%q: lastTick found %s before the first tick", expr, got)
		}
	}
	leap, _ := cron.NewSchedule("0 12 29 2 *")
	if got, ok := nextTick(leap, from.AddDate(0, 1, 0)); !ok || !got.Equal(time.Date(2032, 2, 29, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("next 29 February noon after March 2030: %s, %v", got, ok)
	}
	never, _ := cron.NewSchedule("0 0 30 2 *")
	if got, ok := nextTick(never, from); ok {
		t.Fatalf("30 February found at %s", got)
	}
}
