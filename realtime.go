package jobs

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase-jobs/jobs/internal/service"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
	"github.com/pocketbase/pocketbase/tools/subscriptions"
)

// PocketBase's realtime API (/api/realtime) carries job changes on two
// topics: RealtimeTopic, every change of every job, and
// RealtimeTopic + "/" + id, the changes of one job. Subscribing to them is
// authorized by Config.ManageRule when the subscription is made (see
// authorizeSubscriptions). The README's "Realtime" section describes the
// messages.
const (
	// RealtimeTopic is the realtime topic of every job change.
	RealtimeTopic = "jobs"
	// realtimeJobPrefix starts the topic of one job's changes.
	realtimeJobPrefix = RealtimeTopic + "/"
)

// Coalescing of the realtime feed. Changes are sent at most once per
// realtimeInterval, each job once with its latest state. When more than
// realtimeBatch jobs changed within one interval, subscribers of
// RealtimeTopic get one stats message instead of a message per job, so a
// burst of any size costs each subscriber a few messages a second and the
// feed a bounded amount of memory.
const (
	realtimeInterval = 200 * time.Millisecond
	realtimeBatch    = 100
)

// Actions of realtime messages.
const (
	actionCreate = "create"
	actionUpdate = "update"
	actionDelete = "delete"
	actionStats  = "stats"
)

// realtimeMessage is the JSON of one realtime message: a job's change
// (Job), or the counts of jobs per status (Stats) after changes not told
// job by job.
type realtimeMessage struct {
	Action string    `json:"action"`
	Job    any       `json:"job,omitempty"`
	Stats  *JobStats `json:"stats,omitempty"`
}

// deletedJob is the job of a delete message: what is known of a job once
// it is gone, in every process.
type deletedJob struct {
	ID     string `json:"id"`
	Topic  string `json:"topic"`
	Status string `json:"status"`
}

// realtimeFeed gathers the job changes of this process (and, with
// PostgreSQL, of every process) and sends them to the realtime subscribers
// of this process, coalesced. It outlives the job databases the plugin
// opens; each open database runs a flusher (and on PostgreSQL a listener)
// that feeds it (see startServices).
type realtimeFeed struct {
	app core.App
	// origin names this process in the changes it publishes, so it can
	// skip its own when they come back.
	origin string
	// deliver is false when the HTTP API is off: nobody may subscribe.
	deliver bool
	// ready is signalled by both change sets.
	ready chan struct{}
	// local holds this process's changes, to publish and send; toSend the
	// changes to send to this process's subscribers.
	local, toSend *service.ChangeSet

	mu sync.Mutex
	// sending holds the ids of clients a goroutine is sending to; behind
	// those that missed messages meanwhile.
	sending, behind map[string]bool
}

// newRealtimeFeed returns the feed of app's plugin.
func newRealtimeFeed(app core.App, deliver bool) *realtimeFeed {
	ready := make(chan struct{}, 1)
	return &realtimeFeed{
		app:     app,
		origin:  security.RandomString(16),
		deliver: deliver,
		ready:   ready,
		local:   service.NewChangeSet(realtimeBatch, ready),
		toSend:  service.NewChangeSet(realtimeBatch, ready),
		sending: map[string]bool{},
		behind:  map[string]bool{},
	}
}

// note takes changes this process made.
func (f *realtimeFeed) note(c driver.Changes) { f.local.Add(c) }

// received takes changes published by any process, skipping this one's.
func (f *realtimeFeed) received(c driver.Changes) {
	if c.Origin != f.origin {
		f.toSend.Add(c)
	}
}

// flush publishes this process's changes (when pub is not nil; the driver
// logs an outage) and sends every change gathered to this process's
// subscribers, reading jobs through drv.
func (f *realtimeFeed) flush(ctx context.Context, drv driver.Driver, pub driver.Listener) {
	mine := f.local.Take()
	if pub != nil && !service.Empty(mine) {
		mine.Origin = f.origin
		_ = pub.PublishChanges(ctx, mine) // logged by the driver; subscribers elsewhere miss these
	}
	f.toSend.Add(mine)
	c := f.toSend.Take()
	if f.deliver && !service.Empty(c) {
		if err := f.send(ctx, drv, c); err != nil {
			f.app.Logger().Debug("jobs: realtime changes not sent", "error", err)
		}
	}
}

// subscriber is one realtime client subscribed to job topics: the exact
// subscription names (with their options) under which it gets messages.
type subscriber struct {
	client subscriptions.Client
	all    []string
	byJob  map[string][]string
}

// subscribers returns the clients subscribed to job topics.
func (f *realtimeFeed) subscribers() []subscriber {
	var subs []subscriber
	for _, client := range f.app.SubscriptionsBroker().Clients() {
		s := subscriber{client: client}
		for name := range client.Subscriptions(RealtimeTopic) {
			topic, _, _ := strings.Cut(name, "?")
			if topic == RealtimeTopic {
				s.all = append(s.all, name)
			} else if id, ok := strings.CutPrefix(topic, realtimeJobPrefix); ok && id != "" {
				if s.byJob == nil {
					s.byJob = map[string][]string{}
				}
				s.byJob[id] = append(s.byJob[id], name)
			}
		}
		if len(s.all) > 0 || len(s.byJob) > 0 {
			subs = append(subs, s)
		}
	}
	return subs
}

// send sends c to the subscribers: to those of RealtimeTopic a message per
// job, or one stats message when c has more than realtimeBatch jobs or
// untold changes (or the subscriber missed messages); to those of one job,
// its message, or its current state when c does not tell it.
func (f *realtimeFeed) send(ctx context.Context, drv driver.Driver, c driver.Changes) error {
	subs := f.subscribers()
	if len(subs) == 0 {
		return nil
	}
	behind := f.takeBehind(subs)
	summed := c.Untold > 0 || len(c.Created)+len(c.Updated)+len(c.Deleted) > realtimeBatch
	var read []string
	if !summed {
		read = append(slices.Clone(c.Created), c.Updated...)
	}
	if summed || len(behind) > 0 {
		for _, s := range subs {
			for id := range s.byJob {
				read = append(read, id)
			}
		}
	}
	jobMessages, err := f.jobMessages(ctx, drv, c, read)
	if err != nil {
		return err
	}
	var stats *subscriptions.Message
	statsMessage := func() (subscriptions.Message, error) {
		if stats == nil {
			st, err := drv.Stats(ctx)
			if err != nil {
				return subscriptions.Message{}, err
			}
			counts := statsFromDriver(st)
			data, err := json.Marshal(realtimeMessage{Action: actionStats, Stats: &counts})
			if err != nil {
				return subscriptions.Message{}, err
			}
			stats = &subscriptions.Message{Data: data}
		}
		return *stats, nil
	}
	for _, s := range subs {
		var out []subscriptions.Message
		for _, name := range s.all {
			if summed || behind[s.client.Id()] {
				m, err := statsMessage()
				if err != nil {
					return err
				}
				out = append(out, subscriptions.Message{Name: name, Data: m.Data})
				continue
			}
			for _, m := range jobMessages {
				out = append(out, subscriptions.Message{Name: name, Data: m.data})
			}
		}
		for _, m := range jobMessages {
			for _, name := range s.byJob[m.id] {
				out = append(out, subscriptions.Message{Name: name, Data: m.data})
			}
		}
		f.sendTo(s.client, out)
	}
	return nil
}

// jobMessage is the encoded message of one job's change.
type jobMessage struct {
	id   string
	data []byte
}

// jobMessages returns the messages of c's deleted jobs and of the jobs of
// ids as they are now (create for those c created, update for the others),
// in that order; jobs that no longer exist are left out.
func (f *realtimeFeed) jobMessages(ctx context.Context, drv driver.Driver, c driver.Changes, ids []string) ([]jobMessage, error) {
	var out []jobMessage
	add := func(id string, m realtimeMessage) error {
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		out = append(out, jobMessage{id: id, data: data})
		return nil
	}
	for _, j := range c.Deleted {
		if err := add(j.ID, realtimeMessage{Action: actionDelete, Job: deletedJob(j)}); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	slices.Sort(ids)
	rows, err := drv.Jobs(ctx, driver.JobsParams{IDs: slices.Compact(ids)})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b driver.JobRow) int { return strings.Compare(a.ID, b.ID) })
	for _, r := range rows {
		action := actionUpdate
		if _, created := slices.BinarySearch(c.Created, r.ID); created {
			action = actionCreate
		}
		if err := add(r.ID, realtimeMessage{Action: action, Job: jobFromRow(r)}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// takeBehind returns the subscribers among subs that missed messages and
// are free to be sent to again, and forgets those that are gone.
func (f *realtimeFeed) takeBehind(subs []subscriber) map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	present := map[string]bool{}
	for _, s := range subs {
		present[s.client.Id()] = true
	}
	catchUp := map[string]bool{}
	for id := range f.behind {
		switch {
		case !present[id]:
			delete(f.behind, id)
		case !f.sending[id]:
			catchUp[id] = true
			delete(f.behind, id)
		}
	}
	return catchUp
}

// sendTo sends msgs to client on a goroutine of its own, as a client's
// Send blocks until its connection takes the message. A client still
// taking earlier messages gets none of these: it is marked behind, and
// gets a stats message when it is free. So each client has at most one
// goroutine sending to it, owned by the feed; it ends when the client has
// taken the messages or PocketBase discards the client (its connection
// closed), which a stop of the feed need not wait for.
func (f *realtimeFeed) sendTo(client subscriptions.Client, msgs []subscriptions.Message) {
	if len(msgs) == 0 {
		return
	}
	id := client.Id()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sending[id] {
		f.behind[id] = true
		return
	}
	f.sending[id] = true
	go func() {
		for _, m := range msgs {
			client.Send(m)
		}
		f.mu.Lock()
		delete(f.sending, id)
		f.mu.Unlock()
	}()
}
