package jobs

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestAPIPayloadTheRuleApproved checks that a rule reading a payload member
// decides about the member the handler will read: a payload holding keys a
// Go decoder does not tell apart is refused, whichever of them the rule saw.
func TestAPIPayloadTheRuleApproved(t *testing.T) {
	cfg := apiConfig()
	cfg.EnqueueRule = `@request.auth.id != "" && @request.body.payload.user_id = @request.auth.id`
	cases := []apiCase{
		{
			name:   "own id, and another user's under a key that differs in case",
			body:   `{"topic":"a","payload":{"user_id":"4q1xlclmfloku33","USER_ID":"oap640cot4yru2s"}}`,
			status: 400, content: []string{`"status":400`, `"message":"Invalid payload: `, `user_id`, `USER_ID`},
		},
		{
			name:   "another user's id under an escaped key, then own id",
			body:   `{"topic":"a","payload":{"user\u005fid":"oap640cot4yru2s","user_id":"4q1xlclmfloku33"}}`,
			status: 400, content: []string{`"status":400`, `"message":"Invalid payload: `},
		},
		{
			name:   "own id alone",
			body:   `{"topic":"a","payload":{"user_id":"4q1xlclmfloku33"}}`,
			status: 200, content: []string{`"payload":{"user_id":"4q1xlclmfloku33"}`}, check: expectTotal(4),
		},
	}
	for _, c := range cases {
		c.method, c.url, c.auth = http.MethodPost, "/api/jobs/enqueue", asUser
		c.run(t, newAPIFixture(t, cfg))
	}
}

// TestAPIInputNoDatabaseStores checks that what some job database cannot
// store is a 400, never a 500.
func TestAPIInputNoDatabaseStores(t *testing.T) {
	cases := []apiCase{
		{
			name: "payload that is not UTF-8", body: "{\"topic\":\"a\",\"payload\":{\"name\":\"caf\xe9\"}}",
			// The HTTP API refuses the whole body before the store sees it.
			status: 400, content: []string{`"status":400`, `"message":"Invalid request body: the body must be valid UTF-8."`},
		},
		{
			name: "max_retries beyond MaxRetriesLimit", body: `{"topic":"a","max_retries":1099511627776}`,
			status: 400, content: []string{`"status":400`, `"message":"Invalid options: MaxRetries 1099511627776 is outside 0..1000."`},
		},
		{
			name: "run_at before year 1", body: `{"topic":"a","run_at":"0000-06-01T00:00:00Z"}`,
			status: 400, content: []string{`"status":400`, `"message":"Invalid options: RunAt 0000-06-01T00:00:00Z is outside the years 1..9999."`},
		},
	}
	for _, c := range cases {
		c.method, c.url, c.auth = http.MethodPost, "/api/jobs/enqueue", asSuperuser
		c.run(t, newAPIFixture(t, apiConfig()))
	}
}

// TestAPIPayloadLimitCountsTheJSONAsSent checks that a payload of
// characters HTML escaping would grow is measured as sent: exactly
// MaxPayloadSize bytes of them are accepted.
func TestAPIPayloadLimitCountsTheJSONAsSent(t *testing.T) {
	apiCase{
		name: "payload of exactly MaxPayloadSize bytes", method: http.MethodPost, url: "/api/jobs/enqueue", auth: asSuperuser,
		body:   fmt.Sprintf(`{"topic":"a","payload":"%s"}`, strings.Repeat("&", apiTestMaxPayload-2)),
		status: 200, content: []string{`"status":"pending"`}, check: expectTotal(4),
	}.run(t, newAPIFixture(t, apiConfig()))
}
