package jobs

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// enqueueBodyHeadroom is what the enqueue body may hold besides twice
// MaxPayloadSize: the other members and some whitespace.
const enqueueBodyHeadroom = 64 << 10

// enqueueBodyLimit returns the largest enqueue body read, in bytes: twice
// maxPayload (a payload is measured compacted, and a client may send it
// indented) plus enqueueBodyHeadroom. A longer body is refused with 413
// before it is read.
func enqueueBodyLimit(maxPayload int64) int64 {
	if maxPayload > (math.MaxInt64-enqueueBodyHeadroom)/2 {
		return math.MaxInt64
	}
	return 2*maxPayload + enqueueBodyHeadroom
}

// runAtLayouts are the accepted forms of run_at: RFC 3339, and PocketBase's
// datetime form ("2006-01-02 15:04:05.000Z"; any fraction and zone offset).
var runAtLayouts = []string{time.RFC3339, "2006-01-02 15:04:05Z07:00"}

// enqueueRequest is a decoded POST /api/jobs/enqueue body.
type enqueueRequest struct {
	topic   string
	payload json.RawMessage
	opts    JobEnqueueOptions
}

// handleEnqueue enqueues the job of the request body and answers with it.
func (p *plugin) handleEnqueue(e *core.RequestEvent) error {
	req, err := readEnqueueRequest(e.Request)
	if err != nil {
		return err
	}
	if err := p.checkTopicAllowed(req.topic); err != nil {
		return err
	}
	job, err := GetJobStore(e.App).EnqueueWithOptions(req.topic, req.payload, &req.opts)
	return respondJSON(e, job, err)
}

// checkTopicAllowed refuses a topic outside a non-empty
// Config.AllowedTopics.
func (p *plugin) checkTopicAllowed(topic string) error {
	if len(p.config.AllowedTopics) == 0 || slices.Contains(p.config.AllowedTopics, topic) {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrTopicNotAllowed, topic)
}

// readEnqueueRequest reads and checks the JSON object of an enqueue. Its
// members are looked up by their exact names, as the rule engine's
// @request.body.* does, so a rule and the enqueue always see the same
// values. Unknown members are ignored, as in PocketBase's record bodies.
func readEnqueueRequest(r *http.Request) (*enqueueRequest, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return nil, fmt.Errorf("%w: the Content-Type must be application/json", errInvalidBody)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidBody, err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return nil, fmt.Errorf("%w: the body must be a JSON object", errInvalidBody)
	}
	req := &enqueueRequest{payload: members["payload"]}
	errs := validation.Errors{
		"topic":       decodeTopic(members["topic"], &req.topic),
		"run_at":      decodeRunAt(members["run_at"], &req.opts.RunAt),
		"max_retries": decodeMaxRetries(members["max_retries"], &req.opts.MaxRetries),
	}
	if err := errs.Filter(); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidBody, err)
	}
	return req, nil
}

// Errors of the members of an enqueue body, as they appear in the "data" of
// the error response.
var (
	errNotString  = validation.NewError("validation_invalid_type", "must be a string")
	errNotInteger = validation.NewError("validation_invalid_type", "must be an integer")
	errBadRunAt   = validation.NewError("validation_invalid_date",
		`must be an RFC 3339 date or a PocketBase date ("2006-01-02 15:04:05.000Z")`)
	errNegativeRetries = validation.NewError("validation_min_greater_equal_than_required",
		"must be no less than 0")
)

// decodeMember decodes raw, the JSON of a member, into dst. A missing member
// (nil raw) or a JSON null leaves dst as it is.
func decodeMember(raw json.RawMessage, dst any, typeErr error) error {
	if raw == nil {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return typeErr // raw is valid JSON: the error is its type (or range)
	}
	return nil
}

// decodeTopic requires a string that is not blank.
func decodeTopic(raw json.RawMessage, dst *string) error {
	if err := decodeMember(raw, dst, errNotString); err != nil {
		return err
	}
	if strings.TrimSpace(*dst) == "" {
		return validation.ErrRequired
	}
	return nil
}

// decodeRunAt accepts a date in one of runAtLayouts; a missing, null or
// empty run_at runs the job now.
func decodeRunAt(raw json.RawMessage, dst *time.Time) error {
	var s string
	if err := decodeMember(raw, &s, errNotString); err != nil || s == "" {
		return err
	}
	for _, layout := range runAtLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			*dst = t
			return nil
		}
	}
	return errBadRunAt
}

// decodeMaxRetries maps max_retries to JobEnqueueOptions.MaxRetries: missing
// or null takes Config.MaxRetries, 0 means no retries.
func decodeMaxRetries(raw json.RawMessage, dst *int) error {
	var n *int
	if err := decodeMember(raw, &n, errNotInteger); err != nil {
		return err
	}
	switch {
	case n == nil:
	case *n < 0:
		return errNegativeRetries
	case *n == 0:
		*dst = NoRetries
	default:
		*dst = *n
	}
	return nil
}
