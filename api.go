package jobs

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// bindRoutes registers the /api/jobs routes on r. POST /api/jobs/enqueue is
// guarded by Config.EnqueueRule, every other route by Config.ManageRule;
// only enqueue takes a body (see bodySource).
// The README's "HTTP API" section is the reference of the routes.
func (p *plugin) bindRoutes(r *router.Router[*core.RequestEvent]) {
	for _, err := range p.unresolvableRules() {
		p.app.Logger().Error("jobs: a rule of the HTTP API cannot be evaluated; its routes answer 500 to all but superusers until it is fixed",
			"error", err)
	}

	group := r.Group("/api/jobs").BindFunc(mapErrors)
	group.POST("/enqueue", p.handleEnqueue).
		Bind(requireRule(p.config.EnqueueRule, p.enqueueRuleBody)).
		Unbind(apis.DefaultBodyLimitMiddlewareId) // readJSONBody caps the body itself

	manage := group.Group("").Bind(requireRule(p.config.ManageRule, noBody))
	manage.GET("/stats", handleStats)
	manage.GET("", handleList)
	manage.GET("/{id}", handleGet)
	manage.POST("/{id}/requeue", handleRequeue)
	manage.POST("/{id}/cancel", handleCancel)
	manage.DELETE("/{id}", handleDelete)
	manage.GET("/topics", handleTopics)
	manage.POST("/topics/{topic}/pause", handlePause)
	manage.POST("/topics/{topic}/resume", handleResume)
	manage.GET("/schedules", handleSchedules)
}

// handleStats answers with the number of jobs per status.
func handleStats(e *core.RequestEvent) error {
	stats, err := GetJobStore(e.App).Stats()
	return respondJSON(e, stats, err)
}

// handleList answers with one page of jobs, filtered by the query.
func handleList(e *core.RequestEvent) error {
	filter, err := parseListQuery(e.Request.URL.Query())
	if err != nil {
		return err
	}
	list, err := GetJobStore(e.App).List(filter)
	return respondJSON(e, list, err)
}

// handleGet answers with the job of the path.
func handleGet(e *core.RequestEvent) error {
	job, err := GetJobStore(e.App).Get(e.Request.PathValue("id"))
	return respondJSON(e, job, err)
}

// handleRequeue moves the failed or cancelled job of the path back to
// pending and answers with it.
func handleRequeue(e *core.RequestEvent) error {
	job, err := GetJobStore(e.App).Requeue(e.Request.PathValue("id"))
	return respondJSON(e, job, err)
}

// handleCancel cancels the pending or processing job of the path and
// answers with it.
func handleCancel(e *core.RequestEvent) error {
	job, err := GetJobStore(e.App).Cancel(e.Request.PathValue("id"))
	return respondJSON(e, job, err)
}

// handleDelete deletes the pending, failed or cancelled job of the path.
func handleDelete(e *core.RequestEvent) error {
	if err := GetJobStore(e.App).Delete(e.Request.PathValue("id")); err != nil {
		return err
	}
	return e.NoContent(http.StatusNoContent)
}

// handleTopics answers with every topic, its counts and state.
func handleTopics(e *core.RequestEvent) error {
	topics, err := GetJobStore(e.App).Topics()
	return respondJSON(e, topics, err)
}

// handleSchedules answers with the schedules declared in this process.
func handleSchedules(e *core.RequestEvent) error {
	schedules, err := GetJobStore(e.App).Schedules()
	return respondJSON(e, schedules, err)
}

// handlePause pauses the topic of the path and answers with its state.
func handlePause(e *core.RequestEvent) error {
	return setPausedAndRespond(e, (*JobStore).Pause)
}

// handleResume resumes the topic of the path and answers with its state.
func handleResume(e *core.RequestEvent) error {
	return setPausedAndRespond(e, (*JobStore).Resume)
}

// setPausedAndRespond pauses or resumes (set) the topic of the path, and
// answers with the topic's TopicInfo.
func setPausedAndRespond(e *core.RequestEvent, set func(*JobStore, string) error) error {
	store := GetJobStore(e.App)
	topic := e.Request.PathValue("topic")
	if err := set(store, topic); err != nil {
		return err
	}
	info, err := store.topic(topic)
	return respondJSON(e, info, err)
}

// respondJSON answers with v as JSON, or returns err.
func respondJSON(e *core.RequestEvent, v any, err error) error {
	if err != nil {
		return err
	}
	return e.JSON(http.StatusOK, v)
}

// parseListQuery reads the filter of GET /api/jobs from its query string.
// The store checks the values' ranges; this checks that the numbers are
// numbers.
func parseListQuery(query url.Values) (*JobFilter, error) {
	filter := &JobFilter{Topic: query.Get("topic"), Status: query.Get("status")}
	numbers := []struct {
		name string
		dst  *int
	}{
		{"limit", &filter.Limit},
		{"offset", &filter.Offset},
	}
	for _, n := range numbers {
		v := query.Get(n.name)
		if v == "" {
			continue
		}
		parsed, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %q is not an integer", ErrInvalidFilter, n.name, v)
		}
		*n.dst = parsed
	}
	return filter, nil
}
