package jobs

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestAPIInputNoDatabaseStores checks that what some job database cannot
// store is a 400, never a 500.
func TestAPIInputNoDatabaseStores(t *testing.T) {
	cases := []apiCase{
		{
			name: "payload that is not UTF-8", body: "{\"topic\":\"a\",\"payload\":{\"name\":\"caf\xe9\"}}",
			status: 400, content: []string{`"status":400`, `"message":"Invalid payload: not valid UTF-8."`},
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
