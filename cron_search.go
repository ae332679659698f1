package jobs

import (
	"time"

	"github.com/pocketbase/pocketbase/tools/cron"
)

// cronSearchLimit bounds how far the searches for a schedule's ticks look:
// five years hold a tick of any schedule that has one (a 29 February
// comes every four years, or eight around a century).
const cronSearchLimit = 5 * 366 * 24 * time.Hour

// nextTick returns the first minute after `after` on which s is due, in
// UTC, or false when there is none within cronSearchLimit.
func nextTick(s *cron.Schedule, after time.Time) (time.Time, bool) {
	t := after.UTC().Truncate(time.Minute).Add(time.Minute)
	end := t.Add(cronSearchLimit)
	for !t.After(end) {
		switch {
		case !dayDue(s, t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case !has(s.Hours, t.Hour()):
			t = t.Truncate(time.Hour).Add(time.Hour)
		case !has(s.Minutes, t.Minute()):
			t = t.Add(time.Minute)
		default:
			return t, true
		}
	}
	return time.Time{}, false
}

// lastTick returns the last minute in (after, until] on which s is due, in
// UTC, looking back cronSearchLimit at most, or false when there is none.
func lastTick(s *cron.Schedule, after, until time.Time) (time.Time, bool) {
	t := until.UTC().Truncate(time.Minute)
	start := after.UTC().Truncate(time.Minute).Add(time.Minute)
	if limit := t.Add(-cronSearchLimit); start.Before(limit) {
		start = limit
	}
	for !t.Before(start) {
		switch {
		case !dayDue(s, t):
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Add(-time.Minute)
		case !has(s.Hours, t.Hour()):
			t = t.Truncate(time.Hour).Add(-time.Minute)
		case !has(s.Minutes, t.Minute()):
			t = t.Add(-time.Minute)
		default:
			return t, true
		}
	}
	return time.Time{}, false
}

// dayDue tells whether s may be due on the day of t: its day of the month,
// month and day of the week all match.
func dayDue(s *cron.Schedule, t time.Time) bool {
	return has(s.Days, t.Day()) && has(s.Months, int(t.Month())) && has(s.DaysOfWeek, int(t.Weekday()))
}

// has tells whether set holds v.
func has(set map[int]struct{}, v int) bool {
	_, ok := set[v]
	return ok
}
