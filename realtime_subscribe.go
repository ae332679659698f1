package jobs

import (
	"strings"

	"github.com/pocketbase/pocketbase/core"
)

// isJobSubscription tells whether the realtime subscription name (a topic,
// maybe with "?options=...") is RealtimeTopic or the topic of one job.
func isJobSubscription(name string) bool {
	topic, _, _ := strings.Cut(name, "?")
	return topic == RealtimeTopic || strings.HasPrefix(topic, realtimeJobPrefix)
}

// authorizeSubscriptions is the OnRealtimeSubscribeRequest handler that
// keeps a client's subscriptions to job topics only when the subscribing
// request passes Config.ManageRule (a superuser always does), as a request
// to GET /api/jobs would. The others are dropped silently, the way
// PocketBase accepts a subscription to records a client may not see and
// sends it nothing: the client's other subscriptions are kept. Each
// subscribe request replaces a client's subscriptions, and PocketBase
// refuses one whose auth differs from the client's, so what is authorized
// here holds until the client subscribes again.
func (p *plugin) authorizeSubscriptions(e *core.RealtimeSubscribeRequestEvent) error {
	var allowed *bool
	kept := make([]string, 0, len(e.Subscriptions))
	for _, name := range e.Subscriptions {
		if isJobSubscription(name) {
			if allowed == nil {
				ok := p.mayManage(e.RequestEvent)
				allowed = &ok
			}
			if !*allowed {
				continue
			}
		}
		kept = append(kept, name)
	}
	e.Subscriptions = kept
	return e.Next()
}

// mayManage tells whether the request of e passes Config.ManageRule. A rule
// that cannot be evaluated refuses, and is logged.
func (p *plugin) mayManage(e *core.RequestEvent) bool {
	if e.HasSuperuserAuth() {
		return true
	}
	ok, err := requestSatisfies(e, p.config.ManageRule, noBody)
	if err != nil {
		e.App.Logger().Error("jobs: ManageRule cannot be evaluated; realtime subscriptions to jobs are refused", "error", err)
		return false
	}
	return ok
}
