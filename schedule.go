package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/cron"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/service"
)

// Schedule declares a periodic job: at every tick of cronExpr, in UTC, a job
// of topic with payload is enqueued. cronExpr is PocketBase's cron syntax
// (tools/cron): five fields — minute, hour, day of month, month, day of
// week — with lists, ranges and steps, or a macro such as "@hourly" or
// "@daily". A schedule is code, like a route: declare it at bootstrap in
// every process that runs the dispatcher; each tick enqueues exactly one
// job whichever processes declare it, and after a time with no process
// running, one job catches up the ticks missed. A new schedule starts with
// its next tick. Declaring a name again replaces its schedule. A bad
// expression or an empty name is ErrInvalidSchedule; the topic and payload
// are checked as Enqueue checks them.
func (s *JobStore) Schedule(name, cronExpr, topic string, payload any) error {
	if s.p == nil {
		return s.err
	}
	if strings.TrimSpace(name) == "" || !storableText(name) {
		return fmt.Errorf("%w: name %q must be non-blank valid UTF-8 without NUL characters", ErrInvalidSchedule, name)
	}
	parsed, err := cron.NewSchedule(cronExpr)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrInvalidSchedule, cronExpr, err)
	}
	job, err := s.p.insertParams(topic, payload, nil, s.p.clock.Now())
	if err != nil {
		return fmt.Errorf("schedule %q: %w", name, err)
	}
	s.p.schedules.set(&schedule{name: name, expr: cronExpr, parsed: parsed, job: job})
	return nil
}

// Unschedule removes the schedule name declared in this process. It
// returns ErrScheduleNotFound when there is none.
func (s *JobStore) Unschedule(name string) error {
	if s.p == nil {
		return s.err
	}
	if !s.p.schedules.remove(name) {
		return fmt.Errorf("unschedule %q: %w", name, ErrScheduleNotFound)
	}
	return nil
}

// ScheduleInfo is one schedule of Schedules.
type ScheduleInfo struct {
	Name    string          `json:"name"`
	Cron    string          `json:"cron"`
	Topic   string          `json:"topic"`
	Payload json.RawMessage `json:"payload"`
	// NextRun is the schedule's next tick; zero (left out of the JSON)
	// when it has none within five years.
	NextRun time.Time `json:"next_run,omitzero"`
	// LastRun is the last tick that enqueued a job, by any process; zero
	// (left out of the JSON) when none did yet.
	LastRun time.Time `json:"last_run,omitzero"`
}

// Schedules lists the schedules declared in this process, by name, with
// their next tick and the last tick recorded in the job database.
func (s *JobStore) Schedules() ([]ScheduleInfo, error) {
	d, err := s.driver()
	if err != nil {
		return nil, err
	}
	last, err := d.LastTicks(context.Background())
	if err != nil {
		return nil, fmt.Errorf("read the last ticks of schedules: %w", err)
	}
	now := s.p.clock.Now()
	declared := s.p.schedules.list()
	infos := make([]ScheduleInfo, len(declared))
	for i, sc := range declared {
		infos[i] = ScheduleInfo{Name: sc.name, Cron: sc.expr, Topic: sc.job.Topic, Payload: sc.job.Payload, LastRun: last[sc.name]}
		if next, ok := nextTick(sc.parsed, now); ok {
			infos[i].NextRun = next
		}
	}
	return infos, nil
}

// schedule is one declared schedule.
type schedule struct {
	name, expr string
	parsed     *cron.Schedule
	// job is the job of every tick, but for its id and times.
	job driver.InsertParams
}

// scheduleRegistry holds the schedules declared in this process. It is
// safe for concurrent use.
type scheduleRegistry struct {
	mu     sync.RWMutex
	byName map[string]*schedule
}

// set declares sc, replacing a schedule of the same name.
func (r *scheduleRegistry) set(sc *schedule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byName == nil {
		r.byName = make(map[string]*schedule)
	}
	r.byName[sc.name] = sc
}

// remove removes the schedule name and tells whether there was one.
func (r *scheduleRegistry) remove(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.byName[name]
	delete(r.byName, name)
	return ok
}

// list returns the schedules, by name.
func (r *scheduleRegistry) list() []*schedule {
	r.mu.RLock()
	defer r.mu.RUnlock()
	list := make([]*schedule, 0, len(r.byName))
	for _, sc := range r.byName {
		list = append(list, sc)
	}
	slices.SortFunc(list, func(a, b *schedule) int { return strings.Compare(a.name, b.name) })
	return list
}

// periodic returns the schedules as the Scheduler ticks them: each tick's
// job is enqueued like Enqueue(topic, payload).
func (p *plugin) periodic() []service.Periodic {
	declared := p.schedules.list()
	out := make([]service.Periodic, len(declared))
	for i, sc := range declared {
		out[i] = service.Periodic{
			Name: sc.name,
			LastTick: func(after, until time.Time) (time.Time, bool) {
				return lastTick(sc.parsed, after, until)
			},
			Job: func(now time.Time) driver.InsertParams {
				job := sc.job
				job.ID, job.RunAt, job.Now = core.GenerateDefaultRandomId(), now, now
				return job
			},
		}
	}
	return out
}
