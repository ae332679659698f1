package jobs

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

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
